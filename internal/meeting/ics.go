package meeting

import (
	"context"
	"strings"
	"time"

	"github.com/kaigi/kaigi/internal/principal"
)

// ICS returns an iCalendar (RFC 5545) invitation to a meeting, with its
// join link, for the people allowed to see the meeting.
func (s *Service) ICS(ctx context.Context, p principal.Principal, id string) ([]byte, error) {
	c, err := s.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	org, err := s.accounts.AccountByID(ctx, c.Organizer)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	line := func(name, value string) { fold(&b, name+":"+value) }
	stamp := func(t time.Time) string { return t.UTC().Format("20060102T150405Z") }
	line("BEGIN", "VCALENDAR")
	line("VERSION", "2.0")
	line("PRODID", "-//Kaigi//Meetings//EN")
	line("METHOD", "REQUEST")
	line("BEGIN", "VEVENT")
	line("UID", c.ID+"@kaigi")
	line("DTSTAMP", stamp(c.Created))
	line("DTSTART", stamp(c.Start))
	line("DTEND", stamp(c.End))
	line("SUMMARY", icsText(c.Title))
	line("DESCRIPTION", icsText("Join the meeting: "+c.Link))
	line("URL", c.Link)
	line("LOCATION", icsText(c.Link))
	fold(&b, "ORGANIZER;CN="+icsParam(org.DisplayName)+":mailto:"+org.Email)
	for _, in := range c.Invitees {
		email := in.Email
		name := ""
		if in.Account != "" {
			a, err := s.accounts.AccountByID(ctx, in.Account)
			if err != nil {
				continue
			}
			email, name = a.Email, a.DisplayName
		}
		role := "REQ-PARTICIPANT"
		if in.Role == CoOrganizer {
			role = "CHAIR"
		}
		attr := "ATTENDEE;ROLE=" + role + ";PARTSTAT=NEEDS-ACTION;RSVP=TRUE"
		if name != "" {
			attr += ";CN=" + icsParam(name)
		}
		fold(&b, attr+":mailto:"+email)
	}
	line("END", "VEVENT")
	line("END", "VCALENDAR")
	return []byte(b.String()), nil
}

// icsText escapes a TEXT value (RFC 5545 §3.3.11).
func icsText(s string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`).Replace(s)
}

// icsParam quotes a parameter value; quotes and control characters, which
// it cannot hold, are dropped.
func icsParam(s string) string {
	return `"` + strings.Map(func(r rune) rune {
		if r == '"' || r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s) + `"`
}

// fold writes a content line folded at 75 octets, without splitting a
// UTF-8 sequence, ended by CRLF.
func fold(b *strings.Builder, l string) {
	n := 0
	for i, r := range l {
		size := len(string(r))
		if n+size > 75 {
			b.WriteString("\r\n ")
			n = 1
		}
		b.WriteString(l[i : i+size])
		n += size
	}
	b.WriteString("\r\n")
}
