package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// Bodies of the chat routes.
type (
	TeamBody struct {
		Name        string `json:"name"`
		Description string `json:"description,omitempty"`
	}
	TeamRoleBody struct {
		Role string `json:"role" doc:"owner or member."`
	}
	ChannelBody struct {
		Name string `json:"name"`
		Kind string `json:"kind" doc:"standard or private."`
	}
	ChatBody struct {
		With []ids.UserID `json:"with"`
		Name string       `json:"name,omitempty"`
	}
	AccountBody struct {
		Account ids.UserID `json:"account"`
	}
	MessageBody struct {
		Body   string `json:"body" doc:"Markdown; mentions are written <@account-id>."`
		Thread string `json:"thread,omitempty" doc:"The thread's first message, to reply in a thread."`
		// Confirm sends anyway a message the moderation policy warned
		// about (answer 422 moderation_warning); it is recorded for review.
		Confirm bool `json:"confirm,omitempty" doc:"Send anyway after a moderation_warning answer; recorded for review."`
	}
	EditBody struct {
		Body    string `json:"body"`
		Confirm bool   `json:"confirm,omitempty" doc:"Edit anyway after a moderation warning (recorded for review)."`
	}
	ReadBody struct {
		Seq int64 `json:"seq"`
	}
	EventsBody struct {
		Events []any `json:"events"`
	}
)

// queryInt reads an optional integer query parameter.
func queryInt(r *http.Request, name string, def int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errs.E(errs.Invalid, "%s must be a whole number of 0 or more.", name)
	}
	return n, nil
}

// RegisterChat registers the teams, channels, chats and messages routes.
// Every route needs a member or guest of a tenant; the chat service then
// decides on team and channel membership.
func RegisterChat(s *Server, c *chat.Service) {
	route := func(method, pattern, summary string, req, resp any, status int, h HandlerFunc) {
		p := principal.TenantUser
		if method == "POST" && pattern == "/api/v1/teams" {
			p = principal.TenantMember // guests never create teams
		}
		s.Handle(Route{Method: method, Pattern: pattern, Policy: p, Doc: Doc{Summary: summary, Tag: "chat", Request: req, Response: resp, Status: status}, Handler: h})
	}
	id := func(r *http.Request) string { return r.PathValue("id") }

	route("GET", "/api/v1/teams", "Your teams.", nil, []chat.Team{}, 0,
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) ([]chat.Team, error) {
			return c.Teams(r.Context(), p)
		}))
	route("POST", "/api/v1/teams", "Create a team (with a General channel); you own it.", TeamBody{}, chat.Team{}, http.StatusCreated,
		JSON(http.StatusCreated, func(r *http.Request, p principal.Principal, b TeamBody) (chat.Team, error) {
			return c.CreateTeam(r.Context(), p, b.Name, b.Description)
		}))
	route("GET", "/api/v1/teams/{id}/members", "A team's members.", nil, []chat.TeamMember{}, 0,
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) ([]chat.TeamMember, error) {
			return c.TeamMembers(r.Context(), p, id(r))
		}))
	route("PUT", "/api/v1/teams/{id}/members/{account}", "Add someone (member or guest) to a team, or change their role (owners and admins).", TeamRoleBody{}, nil, http.StatusNoContent,
		JSON(http.StatusNoContent, func(r *http.Request, p principal.Principal, b TeamRoleBody) (None, error) {
			return None{}, c.AddTeamMember(r.Context(), p, id(r), ids.UserID(r.PathValue("account")), b.Role)
		}))
	route("DELETE", "/api/v1/teams/{id}/members/{account}", "Remove someone from a team (owners, admins, or yourself).", nil, nil, http.StatusNoContent,
		JSON(http.StatusNoContent, func(r *http.Request, p principal.Principal, _ None) (None, error) {
			return None{}, c.RemoveTeamMember(r.Context(), p, id(r), ids.UserID(r.PathValue("account")))
		}))
	route("POST", "/api/v1/teams/{id}/channels", "Add a standard or private channel to a team.", ChannelBody{}, chat.Channel{}, http.StatusCreated,
		JSON(http.StatusCreated, func(r *http.Request, p principal.Principal, b ChannelBody) (chat.Channel, error) {
			return c.CreateChannel(r.Context(), p, id(r), b.Name, b.Kind)
		}))
	route("GET", "/api/v1/channels", "Every channel and chat you can see, with your read positions.", nil, []chat.Channel{}, 0,
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) ([]chat.Channel, error) {
			return c.Channels(r.Context(), p)
		}))
	route("POST", "/api/v1/channels/{id}/members", "Add a member of the team to a private channel.", AccountBody{}, nil, http.StatusNoContent,
		JSON(http.StatusNoContent, func(r *http.Request, p principal.Principal, b AccountBody) (None, error) {
			return None{}, c.AddChannelMember(r.Context(), p, id(r), b.Account)
		}))
	for _, a := range []struct {
		path     string
		archived bool
	}{{"archive", true}, {"restore", false}} {
		route("POST", "/api/v1/channels/{id}/"+a.path, "Archive (read-only) or restore a channel (team owners and admins).", nil, nil, http.StatusNoContent,
			JSON(http.StatusNoContent, func(r *http.Request, p principal.Principal, _ None) (None, error) {
				return None{}, c.SetArchived(r.Context(), p, id(r), a.archived)
			}))
	}
	route("POST", "/api/v1/chats", "Start a one-to-one or group chat (a one-to-one chat is reused).", ChatBody{}, chat.Channel{}, http.StatusOK,
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, b ChatBody) (chat.Channel, error) {
			return c.StartChat(r.Context(), p, b.With, b.Name)
		}))
	route("GET", "/api/v1/channels/{id}/messages", "A page of messages, newest first, before ?before= (a sequence number).", nil, []chat.View{}, 0,
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) ([]chat.View, error) {
			before, err := queryInt(r, "before", 0)
			if err != nil {
				return nil, err
			}
			limit, err := queryInt(r, "limit", 50)
			if err != nil {
				return nil, err
			}
			return c.Messages(r.Context(), p, id(r), before, int(limit))
		}))
	route("POST", "/api/v1/channels/{id}/messages", "Send a message, or reply in a thread; answered once it is durably stored. The moderation policy may answer 422 moderation_warning (send again with confirm) or moderation_held (not sent; held for review).", MessageBody{}, chat.View{}, http.StatusCreated,
		JSON(http.StatusCreated, func(r *http.Request, p principal.Principal, b MessageBody) (chat.View, error) {
			return c.SendWith(r.Context(), p, id(r), b.Body, b.Thread, chat.SendOptions{Confirmed: b.Confirm})
		}))
	route("GET", "/api/v1/channels/{id}/events", "The channel's events after ?after= (a sequence number), in order: to catch up.", nil, EventsBody{}, 0,
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (EventsBody, error) {
			after, err := queryInt(r, "after", 0)
			if err != nil {
				return EventsBody{}, err
			}
			limit, err := queryInt(r, "limit", 200)
			if err != nil {
				return EventsBody{}, err
			}
			evs, err := c.Events(r.Context(), p, id(r), after, int(limit))
			if err != nil {
				return EventsBody{}, err
			}
			out := EventsBody{Events: make([]any, len(evs))}
			for i, e := range evs {
				out.Events[i] = e
			}
			return out, nil
		}))
	route("POST", "/api/v1/channels/{id}/read", "Move your read position forward.", ReadBody{}, nil, http.StatusNoContent,
		JSON(http.StatusNoContent, func(r *http.Request, p principal.Principal, b ReadBody) (None, error) {
			return None{}, c.MarkRead(r.Context(), p, id(r), b.Seq)
		}))
	route("PATCH", "/api/v1/messages/{id}", "Edit your message; the earlier text is kept for compliance.", EditBody{}, chat.View{}, 0,
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, b EditBody) (chat.View, error) {
			return c.EditWith(r.Context(), p, id(r), b.Body, chat.SendOptions{Confirmed: b.Confirm})
		}))
	route("DELETE", "/api/v1/messages/{id}", "Delete your message from the conversation.", nil, nil, http.StatusNoContent,
		JSON(http.StatusNoContent, func(r *http.Request, p principal.Principal, _ None) (None, error) {
			return None{}, c.Delete(r.Context(), p, id(r))
		}))
	for _, on := range []bool{true, false} {
		method, summary := "PUT", "React to a message with an emoji."
		if !on {
			method, summary = "DELETE", "Take back your reaction."
		}
		route(method, "/api/v1/messages/{id}/reactions/{emoji}", summary, nil, chat.View{}, 0,
			JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (chat.View, error) {
				return c.React(r.Context(), p, id(r), r.PathValue("emoji"), on)
			}))
	}
	route("GET", "/api/v1/search", "Search the messages you can see for all the words of ?q=.", nil, chat.SearchResult{}, 0,
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (chat.SearchResult, error) {
			limit, err := queryInt(r, "limit", 50)
			if err != nil {
				return chat.SearchResult{}, err
			}
			return c.Search(r.Context(), p, r.URL.Query().Get("q"), int(limit))
		}))
	route("POST", "/api/v1/external-chats", "Start a one-to-one chat with a member of another organisation, by exact email, when both organisations allow it.", ExternalChatBody{}, chat.Channel{}, 0,
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, b ExternalChatBody) (chat.Channel, error) {
			return c.StartExternalChat(r.Context(), p, b.Email)
		}))
	route("GET", "/api/v1/people", "Names of the people with the given ?id= (repeatable): your organisation's, or for guests those who share a team.", nil, []chat.Person{}, 0,
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) ([]chat.Person, error) {
			var who []ids.UserID
			for _, id := range r.URL.Query()["id"] {
				who = append(who, ids.UserID(id))
			}
			return c.People(r.Context(), p, who)
		}))
	route("GET", "/api/v1/notifications", "Your newest notifications (mentions).", nil, []chat.Notification{}, 0,
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) ([]chat.Notification, error) {
			return c.Notifications(r.Context(), p, 50)
		}))
	route("POST", "/api/v1/notifications/read", "Mark your notifications up to a time read.", NotificationsReadBody{}, Ended{}, 0,
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, b NotificationsReadBody) (Ended, error) {
			n, err := c.MarkNotificationsRead(r.Context(), p, b.UpTo)
			return Ended{Ended: n}, err
		}))
}

// NotificationsReadBody says up to when notifications were seen.
type NotificationsReadBody struct {
	UpTo time.Time `json:"up_to"`
}

// ExternalChatBody names the person in another organisation.
type ExternalChatBody struct {
	Email string `json:"email"`
}
