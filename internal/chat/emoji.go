package chat

import "unicode/utf8"

// isEmoji reports whether s is one emoji as people type them: a
// pictograph with its optional presentation selector, skin-tone modifier
// and zero-width-joiner sequence (👍🏽, 👩‍💻, ❤️), a flag (two regional
// indicators, or a tag sequence such as 🏴 for Scotland), or a keycap (1️⃣).
// Anything else — words, letters, digits alone — is refused: a reaction
// is stored as it is, so it must not be able to carry text.
func isEmoji(s string) bool {
	if s == "" || len(s) > 32 || !utf8.ValidString(s) {
		return false
	}
	runes := []rune(s)
	// A keycap: a digit, # or *, an optional U+FE0F, then U+20E3.
	if k := runes[0]; k == '#' || k == '*' || (k >= '0' && k <= '9') {
		switch {
		case len(runes) == 2 && runes[1] == 0x20E3:
			return true
		case len(runes) == 3 && runes[1] == 0xFE0F && runes[2] == 0x20E3:
			return true
		}
		return false
	}
	// A flag: exactly two regional indicators.
	if isRegional(runes[0]) {
		return len(runes) == 2 && isRegional(runes[1])
	}
	pictographs, joinable := 0, false
	for i, r := range runes {
		switch {
		case isPictograph(r):
			if pictographs > 0 && !joinable {
				return false // two emoji side by side
			}
			pictographs++
			joinable = false
		case r == 0xFE0F || r == 0xFE0E: // presentation selectors
			if i == 0 {
				return false
			}
		case r >= 0x1F3FB && r <= 0x1F3FF: // skin tones
			if i == 0 {
				return false
			}
		case r == 0x200D: // zero-width joiner: another pictograph follows
			if i == 0 || i == len(runes)-1 {
				return false
			}
			joinable = true
		case r >= 0xE0020 && r <= 0xE007F: // tags, in subdivision flags
			if i == 0 || runes[0] != 0x1F3F4 {
				return false
			}
		case r == 0x20E3: // an enclosing keycap after a pictograph
		default:
			return false
		}
	}
	return pictographs > 0 && !joinable
}

func isRegional(r rune) bool { return r >= 0x1F1E6 && r <= 0x1F1FF }

// isPictograph reports whether r is in the blocks emoji come from.
func isPictograph(r rune) bool {
	switch {
	case r >= 0x1F000 && r <= 0x1FAFF && !(r >= 0x1F3FB && r <= 0x1F3FF) && !isRegional(r):
		return true // playing cards to symbols and pictographs extended-A
	case r >= 0x2600 && r <= 0x27BF: // miscellaneous symbols, dingbats
		return true
	case r >= 0x2300 && r <= 0x23FF: // technical: ⌚ ⌛ ⏰
		return true
	case r >= 0x2B00 && r <= 0x2BFF: // ⬆ ⭐ ⭕
		return true
	case r >= 0x2190 && r <= 0x21FF, r >= 0x25A0 && r <= 0x25FF, r >= 0x2934 && r <= 0x2935:
		return true // arrows, geometric shapes
	}
	switch r {
	case 0x00A9, 0x00AE, 0x203C, 0x2049, 0x2122, 0x2139, 0x24C2, 0x3030, 0x303D, 0x3297, 0x3299:
		return true
	}
	return false
}
