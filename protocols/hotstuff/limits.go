package hotstuff

// Frame budgets. A block's batch travels in its proposal, next to the
// justify QC of 2f+1 sealed votes, and in a fetch answer (hs-blocks), which
// carries the oldest block asked for whatever its size and further blocks
// only within maxFetchBytes. BatchBudget is the largest batch for which a
// proposal inside a fetch answer fits in one frame. The state a fetch answer
// may carry besides (a lagging replica's state transfer) is not counted:
// it is the application's snapshot and the client sessions, bounded by the
// application, not by batches.

// frameFixed bounds the bytes of any HotStuff frame besides its embedded
// lists and authenticator: header, replica, view, parent hash, the QC's
// view, block hash and list prefix, the batch's prefix (a proposal has 98),
// plus the 4-byte prefix the frame gets when it is embedded in a list, plus
// the 2-byte authenticator length.
const frameFixed = 128

// BatchBudget returns the largest batch, in bytes of its encoding (each
// sealed request with its 4-byte length prefix), whose proposal fits in a
// fetch answer within a frame whose length field is at most maxFrame, for n
// replicas whose authenticators are at most auth bytes. It is <= 0 when
// nothing fits.
func BatchBudget(maxFrame, n, auth int) int {
	f := (n - 1) / 3
	per := frameFixed + auth
	// answer = per + proposal; proposal = per + (2f+1) votes + batch.
	return maxFrame - per - per - (2*f+1)*per
}

// RequestFits reports whether a sealed request of size bytes can be
// ordered at all: alone in a block, within budget (see BatchBudget).
func RequestFits(size, budget int) bool { return 4+size <= budget }
