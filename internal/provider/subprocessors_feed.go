package provider

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strings"
	"time"
)

// Feed is the published, signed JSON form of the registry. Its bytes are
// signed as they are served (a detached Ed25519 signature by the service
// signing key), so anyone can check them with the published public key,
// e.g. `openssl pkeyutl -verify -pubin -inkey key.pem -rawin -in feed.json
// -sigfile feed.json.sig`.
type Feed struct {
	Version       int            `json:"version"`
	Publisher     string         `json:"publisher"`
	URL           string         `json:"url"`
	AsOf          time.Time      `json:"as_of"`
	Notice        NoticeTerms    `json:"notice"`
	Subprocessors []Subprocessor `json:"subprocessors"`
	Upcoming      []Change       `json:"upcoming"`
	Changes       []Change       `json:"changes"`
}

// FeedJSON returns the JSON feed's bytes. They depend only on the registry
// (as of its latest announcement or change in force), not on the moment of
// the request, so a feed fetched with its signature a moment apart matches.
func FeedJSON(r Registry, publisher, baseURL string) []byte {
	f := Feed{Version: 1, Publisher: publisher, URL: strings.TrimRight(baseURL, "/") + "/trust/subprocessors", AsOf: r.AsOf, Notice: r.Notice,
		Subprocessors: r.Subprocessors, Upcoming: r.Upcoming, Changes: r.Changes}
	b, _ := json.MarshalIndent(f, "", "  ")
	return append(b, '\n')
}

// Atom 1.0 (RFC 4287) elements of the feed.
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Author  atomPerson  `xml:"author"`
	Links   []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

type atomEntry struct {
	ID        string   `xml:"id"`
	Title     string   `xml:"title"`
	Updated   string   `xml:"updated"`
	Published string   `xml:"published"`
	Link      atomLink `xml:"link"`
	Summary   atomText `xml:"summary"`
}

// FeedAtom returns the registry's changes as an Atom 1.0 feed, newest first.
func FeedAtom(r Registry, publisher, baseURL string) []byte {
	base := strings.TrimRight(baseURL, "/")
	page := base + "/trust/subprocessors"
	updated := r.AsOf
	if updated.IsZero() {
		updated = time.Unix(0, 0)
	}
	f := atomFeed{ID: page, Title: publisher + " subprocessors", Updated: updated.UTC().Format(time.RFC3339), Author: atomPerson{Name: publisher},
		Links: []atomLink{{Rel: "self", Type: "application/atom+xml", Href: base + "/api/v1/trust/subprocessors/feed.atom"}, {Rel: "alternate", Type: "text/html", Href: page}}}
	for _, c := range r.Changes {
		var sum strings.Builder
		fmt.Fprintf(&sum, "%s takes effect on %s.", c.Name, c.Effective.UTC().Format(time.DateOnly))
		if c.Kind != ChangeRemove {
			fmt.Fprintf(&sum, " Purpose: %s. Location: %s. Data categories: %s. Processes customer data: %s.",
				c.Purpose, c.Location, strings.Join(c.Categories, ", "), map[bool]string{true: "yes", false: "no"}[c.CustomerData])
		}
		f.Entries = append(f.Entries, atomEntry{ID: "urn:kaigi:subprocessor-change:" + c.ID, Title: subject(c),
			Updated: c.Announced.UTC().Format(time.RFC3339), Published: c.Announced.UTC().Format(time.RFC3339),
			Link: atomLink{Rel: "alternate", Type: "text/html", Href: page + "#change-" + c.ID}, Summary: atomText{Type: "text", Body: sum.String()}})
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	_ = enc.Encode(f)
	b.WriteByte('\n')
	return b.Bytes()
}
