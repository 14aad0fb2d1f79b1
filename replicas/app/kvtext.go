package app

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ParseKVText encodes a kv operation written for people:
//
//	get KEY
//	put KEY VALUE     (VALUE is the rest of the line, spaces included)
//	delete KEY        (or del)
//
// Keys and values are taken as written; a key cannot contain white space.
func ParseKVText(text string) ([]byte, error) {
	verb, rest := cutField(text)
	key, value := cutField(rest)
	if verb == "" {
		return nil, fmt.Errorf("empty kv operation: want 'get KEY', 'put KEY VALUE' or 'delete KEY'")
	}
	if key == "" {
		return nil, fmt.Errorf("kv operation %q has no key: want '%s KEY%s'", text, strings.ToLower(verb), map[bool]string{true: " VALUE"}[strings.EqualFold(verb, "put")])
	}
	switch strings.ToLower(verb) {
	case "get":
		if value != "" {
			return nil, fmt.Errorf("kv operation %q: get takes only a key (keys cannot contain spaces)", text)
		}
		return AppendGet(nil, []byte(key)), nil
	case "put", "set":
		return AppendPut(nil, []byte(key), []byte(value)), nil
	case "delete", "del":
		if value != "" {
			return nil, fmt.Errorf("kv operation %q: delete takes only a key (keys cannot contain spaces)", text)
		}
		return AppendDelete(nil, []byte(key)), nil
	}
	return nil, fmt.Errorf("unknown kv operation %q: want get, put or delete", verb)
}

// cutField returns the first white-space-separated field of s and the rest
// after the white space that follows it.
func cutField(s string) (field, rest string) {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeftFunc(s[i:], unicode.IsSpace)
}

// DescribeKVResult renders the result of kv operation op for people: "ok",
// "ok VALUE" for a get (quoted when it is not plain printable text, so an
// empty value shows as ""), "not found", or "malformed operation".
func DescribeKVResult(op, res []byte) string {
	if len(res) == 0 {
		return "empty result (not a kv reply)"
	}
	switch status, rest := res[0], res[1:]; {
	case status == StatusOK && len(op) > 0 && op[0] == OpGet:
		return "ok " + printable(rest)
	case status == StatusOK && len(rest) == 0:
		return "ok"
	case status == StatusNotFound && len(rest) == 0:
		return "not found"
	case status == StatusBadOp && len(rest) == 0:
		return "malformed operation"
	}
	return fmt.Sprintf("unknown kv result %q", res)
}

// printable returns b as it is when it is valid text without control
// characters or surrounding spaces, else quoted.
func printable(b []byte) string {
	s := string(b)
	if s == "" || !utf8.ValidString(s) || strings.TrimSpace(s) != s || strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}
