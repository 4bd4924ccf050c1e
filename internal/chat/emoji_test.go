package chat

import "testing"

func TestIsEmojiAcceptsEmojiAndRefusesText(t *testing.T) {
	for _, s := range []string{
		"👍", "❤️", "❤", "😄", "🎉", "👀", "🙏", "✅", "😮", // the picker's
		"👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇯🇵", "🇬🇧", "1️⃣", "#⃣", "©️", "⭐", "⌛", "🫠",
		"\U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F", // Scotland
	} {
		if !isEmoji(s) {
			t.Errorf("%q (%U) is refused", s, []rune(s))
		}
	}
	for _, s := range []string{
		"", "a", "ok", "CANARY", "1", "12", "+1", "👍👍", "👍 ", " 👍", "👍a", "a👍", "\u200d👍", "👍\u200d",
		"🏽", "\ufe0f", "🇯", "🇯🇵🇬🇧", "秘密", "ｈｉ", "<script>", "👍\u202e", "\U000E0067",
		"😀😀😀😀😀😀😀😀😀", // too long
	} {
		if isEmoji(s) {
			t.Errorf("%q (%U) is accepted", s, []rune(s))
		}
	}
}
