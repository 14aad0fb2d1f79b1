package pbft

// Frame budgets. A batch travels inside larger messages than its
// pre-prepare: a view-change embeds the pre-prepare of every prepared batch
// with 2f prepares and the 2f+1 checkpoints of its stable checkpoint, and a
// new-view embeds 2f+1 view-changes. BatchBudget is the largest batch for
// which all of these fit in one frame when a view-change reports that batch
// alone, so a batch the primary builds within it can always be carried
// through a view change that follows it.

// frameFixed bounds the bytes of any PBFT frame besides its embedded lists
// and authenticator: header, replica, view, sequence number, digest and list
// length prefixes (the largest, a pre-prepare, has 62), plus the 4-byte
// prefix the frame gets when it is embedded in a list, plus the 2-byte
// authenticator length.
const frameFixed = 128

// BatchBudget returns the largest batch, in bytes of its encoding (each
// sealed request with its 4-byte length prefix), whose pre-prepare,
// view-change and new-view each fit in a frame whose length field is at most
// maxFrame, for n replicas whose authenticators are at most auth bytes. It
// is <= 0 when nothing fits.
func BatchBudget(maxFrame, n, auth int) int {
	f := (n - 1) / 3
	per := frameFixed + auth // one embedded frame besides its lists
	// new-view = per + (2f+1) view-changes; view-change = per + (2f+1)
	// checkpoints + one pre-prepare (per + batch) + 2f prepares.
	vc := (maxFrame-per)/(2*f+1) - per
	return vc - (2*f+1)*per - per - 2*f*per
}

// RequestFits reports whether a sealed request of size bytes can be
// ordered at all: alone in a batch, within budget (see BatchBudget).
func RequestFits(size, budget int) bool { return 4+size <= budget }
