package password

import (
	_ "embed"
	"strings"
	"sync"
)

// commonList is the SecLists "10-million-password-list-top-10000" list
// (MIT licence); data/NOTICE names its exact origin.
//
//go:embed data/common-passwords.txt
var commonList string

// commonSet returns the shipped list as a set of lower-case passwords,
// built on first use.
var commonSet = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 10000)
	for line := range strings.Lines(commonList) {
		if w := strings.ToLower(strings.TrimSpace(line)); w != "" {
			set[w] = struct{}{}
		}
	}
	return set
})
