package discovery

import (
	"context"
	"time"

	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
)

// opener opens messages of one tenant for people, caching the channels,
// teams and names it looks up.
type opener struct {
	s      *Service
	tenant ids.TenantID
	chans  map[string]chat.Channel
	teams  map[string]chat.Team
	names  map[ids.UserID]string
}

func newOpener(s *Service, tenant ids.TenantID) *opener {
	return &opener{s: s, tenant: tenant, chans: map[string]chat.Channel{}, teams: map[string]chat.Team{}, names: map[ids.UserID]string{}}
}

func (o *opener) channel(ctx context.Context, id string) (chat.Channel, error) {
	if c, ok := o.chans[id]; ok {
		return c, nil
	}
	c, err := o.s.o.Chat.Channel(ctx, id)
	if err != nil {
		return chat.Channel{}, err
	}
	if c.Tenant != o.tenant {
		return chat.Channel{}, errs.E(errs.NotFound, "No such channel.")
	}
	o.chans[id] = c
	return c, nil
}

func (o *opener) team(ctx context.Context, id string) chat.Team {
	if id == "" {
		return chat.Team{}
	}
	if t, ok := o.teams[id]; ok {
		return t
	}
	t, err := o.s.o.Chat.Team(ctx, id)
	if err != nil || t.Tenant != o.tenant {
		t = chat.Team{ID: id}
	}
	o.teams[id] = t
	return t
}

func (o *opener) name(ctx context.Context, id ids.UserID) string {
	if n, ok := o.names[id]; ok {
		return n
	}
	n := ""
	if a, err := o.s.o.Accounts.AccountByID(ctx, id); err == nil {
		n = a.DisplayName
	}
	o.names[id] = n
	return n
}

// item opens one message for a case member's screen.
func (o *opener) item(ctx context.Context, id string) (Item, error) {
	m, err := o.s.o.Chat.Message(ctx, id)
	if err != nil || m.Tenant != o.tenant {
		return Item{ID: id, Deleted: true}, nil
	}
	c, err := o.channel(ctx, m.Channel)
	if err != nil {
		return Item{}, err
	}
	v, err := o.s.o.Opener.Open(ctx, m)
	if err != nil {
		return Item{}, err
	}
	it := Item{ID: m.ID, Channel: c.ID, ChannelName: c.Name, ChannelKind: c.Kind, Team: c.Team, Author: m.Author, AuthorName: o.name(ctx, m.Author),
		Created: m.Created, Edited: m.Edited, Deleted: v.Deleted, Body: v.Body}
	files, err := o.s.o.Chat.Files(ctx, []string{m.ID})
	if err != nil {
		return Item{}, err
	}
	for _, f := range files[m.ID] {
		name, err := o.s.o.Keys.Open(ctx, f.Tenant, chat.FileNameAAD(f.ID), f.SealedName)
		if err != nil {
			return Item{}, err
		}
		it.Files = append(it.Files, string(name))
	}
	return it, nil
}

// Record is one line of messages.jsonl.
type Record struct {
	ID          string       `json:"id"`
	Channel     string       `json:"channel"`
	ChannelName string       `json:"channel_name"`
	ChannelKind string       `json:"channel_kind"`
	Team        string       `json:"team,omitempty"`
	TeamName    string       `json:"team_name,omitempty"`
	Thread      string       `json:"thread,omitempty"`
	Seq         int64        `json:"seq"`
	Author      ids.UserID   `json:"author"`
	AuthorName  string       `json:"author_name"`
	Created     time.Time    `json:"created"`
	Edited      time.Time    `json:"edited,omitzero"`
	Deleted     time.Time    `json:"deleted,omitzero"`
	Body        string       `json:"body"`
	Versions    []RecVersion `json:"versions,omitempty"`
	Attachments []RecFile    `json:"attachments,omitempty"`
}

// RecVersion is an earlier body of a message.
type RecVersion struct {
	Version  int       `json:"version"`
	Body     string    `json:"body"`
	Replaced time.Time `json:"replaced"`
}

// RecFile is an attachment of a message; Path is its file in the package.
type RecFile struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
	SHA256      string `json:"sha256"`
	Path        string `json:"path"`
}

// records opens a batch of messages for a package. files receives every
// attachment with the path it gets.
func (o *opener) records(ctx context.Context, ms []chat.Message) ([]Record, []chat.File, error) {
	idsOf := make([]string, len(ms))
	for i, m := range ms {
		idsOf[i] = m.ID
	}
	versions, err := o.s.o.Store.Versions(ctx, idsOf)
	if err != nil {
		return nil, nil, err
	}
	files, err := o.s.o.Chat.Files(ctx, idsOf)
	if err != nil {
		return nil, nil, err
	}
	var out []Record
	var all []chat.File
	for _, m := range ms {
		if m.Tenant != o.tenant {
			continue
		}
		c, err := o.channel(ctx, m.Channel)
		if err != nil {
			return nil, nil, err
		}
		v, err := o.s.o.Opener.Open(ctx, m)
		if err != nil {
			return nil, nil, err
		}
		r := Record{ID: m.ID, Channel: c.ID, ChannelName: c.Name, ChannelKind: c.Kind, Team: c.Team, TeamName: o.team(ctx, c.Team).Name,
			Thread: m.Thread, Seq: m.Seq, Author: m.Author, AuthorName: o.name(ctx, m.Author), Created: m.Created, Edited: m.Edited, Deleted: m.Deleted, Body: v.Body}
		for _, ver := range versions[m.ID] {
			pv, err := o.s.o.Opener.Open(ctx, chat.Message{ID: m.ID, Tenant: m.Tenant, Channel: m.Channel, Version: ver.Version, Body: ver.Body})
			if err != nil {
				return nil, nil, err
			}
			r.Versions = append(r.Versions, RecVersion{Version: ver.Version, Body: pv.Body, Replaced: ver.Replaced})
		}
		for _, f := range files[m.ID] {
			name, err := o.s.o.Keys.Open(ctx, f.Tenant, chat.FileNameAAD(f.ID), f.SealedName)
			if err != nil {
				return nil, nil, err
			}
			f.Name = string(name)
			p := "attachments/" + f.ID + "-" + SafeName(f.Name)
			r.Attachments = append(r.Attachments, RecFile{ID: f.ID, Name: f.Name, Size: f.Size, ContentType: f.ContentType, SHA256: f.SHA256, Path: p})
			all = append(all, f)
		}
		out = append(out, r)
	}
	return out, all, nil
}
