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
	}
	EditBody struct {
		Body string `json:"body"`
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

func noContent(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// RegisterChat registers the teams, channels, chats and messages routes.
// Every route needs a member or guest of a tenant; the chat service then
// decides on team and channel membership.
func RegisterChat(s *Server, c *chat.Service) {
	pol := principal.TenantUser
	route := func(method, pattern, summary string, req, resp any, status int, h HandlerFunc) {
		p := pol
		if method == "POST" && pattern == "/api/v1/teams" {
			p = principal.TenantMember // guests never create teams
		}
		s.Handle(Route{Method: method, Pattern: pattern, Policy: p, Doc: Doc{Summary: summary, Tag: "chat", Request: req, Response: resp, Status: status}, Handler: h})
	}
	route("GET", "/api/v1/teams", "Your teams.", nil, []chat.Team{}, 0, func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
		ts, err := c.Teams(r.Context(), p)
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, ts)
		return nil
	})
	route("POST", "/api/v1/teams", "Create a team (with a General channel); you own it.", TeamBody{}, chat.Team{}, http.StatusCreated, func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
		var b TeamBody
		if err := DecodeJSON(r, &b); err != nil {
			return err
		}
		t, err := c.CreateTeam(r.Context(), p, b.Name, b.Description)
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusCreated, t)
		return nil
	})
	route("GET", "/api/v1/teams/{id}/members", "A team's members.", nil, []chat.TeamMember{}, 0, func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
		ms, err := c.TeamMembers(r.Context(), p, r.PathValue("id"))
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, ms)
		return nil
	})
	route("PUT", "/api/v1/teams/{id}/members/{account}", "Add someone (member or guest) to a team, or change their role (owners and admins).", TeamRoleBody{}, nil, http.StatusNoContent, func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
		var b TeamRoleBody
		if err := DecodeJSON(r, &b); err != nil {
			return err
		}
		if err := c.AddTeamMember(r.Context(), p, r.PathValue("id"), ids.UserID(r.PathValue("account")), b.Role); err != nil {
			return err
		}
		return noContent(w)
	})
	route("DELETE", "/api/v1/teams/{id}/members/{account}", "Remove someone from a team (owners, admins, or yourself).", nil, nil, http.StatusNoContent, func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
		if err := c.RemoveTeamMember(r.Context(), p, r.PathValue("id"), ids.UserID(r.PathValue("account"))); err != nil {
			return err
		}
		return noContent(w)
	})
	route("POST", "/api/v1/teams/{id}/channels", "Add a standard or private channel to a team.", ChannelBody{}, chat.Channel{}, http.StatusCreated, func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
		var b ChannelBody
		if err := DecodeJSON(r, &b); err != nil {
			return err
		}
		ch, err := c.CreateChannel(r.Context(), p, r.PathValue("id"), b.Name, b.Kind)
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusCreated, ch)
		return nil
	})
	route("GET", "/api/v1/channels", "Every channel and chat you can see, with your read positions.", nil, []chat.Channel{}, 0, func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
		cs, err := c.Channels(r.Context(), p)
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, cs)
		return nil
	})
	route("POST", "/api/v1/channels/{id}/members", "Add a member of the team to a private channel.", AccountBody{}, nil, http.StatusNoContent, func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
		var b AccountBody
		if err := DecodeJSON(r, &b); err != nil {
			return err
		}
		if err := c.AddChannelMember(r.Context(), p, r.PathValue("id"), b.Account); err != nil {
			return err
		}
		return noContent(w)
	})
	for _, a := range []struct {
		path     string
		archived bool
	}{{"archive", true}, {"restore", false}} {
		route("POST", "/api/v1/channels/{id}/"+a.path, "Archive (read-only) or restore a channel (team owners and admins).", nil, nil, http.StatusNoContent, func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			if err := c.SetArchived(r.Context(), p, r.PathValue("id"), a.archived); err != nil {
				return err
			}
			return noContent(w)
		})
	}
	route("POST", "/api/v1/chats", "Start a one-to-one or group chat (a one-to-one chat is reused).", ChatBody{}, chat.Channel{}, http.StatusOK, func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
		var b ChatBody
		if err := DecodeJSON(r, &b); err != nil {
			return err
		}
		ch, err := c.StartChat(r.Context(), p, b.With, b.Name)
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, ch)
		return nil
	})
	route("GET", "/api/v1/channels/{id}/messages", "A page of messages, newest first, before ?before= (a sequence number).", nil, []chat.View{}, 0, func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
		before, err := queryInt(r, "before", 0)
		if err != nil {
			return err
		}
		limit, err := queryInt(r, "limit", 50)
		if err != nil {
			return err
		}
		ms, err := c.Messages(r.Context(), p, r.PathValue("id"), before, int(limit))
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, ms)
		return nil
	})
	route("POST", "/api/v1/channels/{id}/messages", "Send a message, or reply in a thread; answered once it is durably stored.", MessageBody{}, chat.View{}, http.StatusCreated, func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
		var b MessageBody
		if err := DecodeJSON(r, &b); err != nil {
			return err
		}
		v, err := c.Send(r.Context(), p, r.PathValue("id"), b.Body, b.Thread)
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusCreated, v)
		return nil
	})
	route("GET", "/api/v1/channels/{id}/events", "The channel's events after ?after= (a sequence number), in order: to catch up.", nil, EventsBody{}, 0, func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
		after, err := queryInt(r, "after", 0)
		if err != nil {
			return err
		}
		limit, err := queryInt(r, "limit", 200)
		if err != nil {
			return err
		}
		evs, err := c.Events(r.Context(), p, r.PathValue("id"), after, int(limit))
		if err != nil {
			return err
		}
		out := EventsBody{Events: make([]any, len(evs))}
		for i, e := range evs {
			out.Events[i] = e
		}
		WriteJSON(w, http.StatusOK, out)
		return nil
	})
	route("POST", "/api/v1/channels/{id}/read", "Move your read position forward.", ReadBody{}, nil, http.StatusNoContent, func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
		var b ReadBody
		if err := DecodeJSON(r, &b); err != nil {
			return err
		}
		if err := c.MarkRead(r.Context(), p, r.PathValue("id"), b.Seq); err != nil {
			return err
		}
		return noContent(w)
	})
	route("PATCH", "/api/v1/messages/{id}", "Edit your message; the earlier text is kept for compliance.", EditBody{}, chat.View{}, 0, func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
		var b EditBody
		if err := DecodeJSON(r, &b); err != nil {
			return err
		}
		v, err := c.Edit(r.Context(), p, r.PathValue("id"), b.Body)
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, v)
		return nil
	})
	route("DELETE", "/api/v1/messages/{id}", "Delete your message from the conversation.", nil, nil, http.StatusNoContent, func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
		if err := c.Delete(r.Context(), p, r.PathValue("id")); err != nil {
			return err
		}
		return noContent(w)
	})
	for _, on := range []bool{true, false} {
		method, summary := "PUT", "React to a message with an emoji."
		if !on {
			method, summary = "DELETE", "Take back your reaction."
		}
		route(method, "/api/v1/messages/{id}/reactions/{emoji}", summary, nil, chat.View{}, 0, func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			v, err := c.React(r.Context(), p, r.PathValue("id"), r.PathValue("emoji"), on)
			if err != nil {
				return err
			}
			WriteJSON(w, http.StatusOK, v)
			return nil
		})
	}
	route("GET", "/api/v1/search", "Search the messages you can see for all the words of ?q=.", nil, chat.SearchResult{}, 0, func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
		limit, err := queryInt(r, "limit", 50)
		if err != nil {
			return err
		}
		res, err := c.Search(r.Context(), p, r.URL.Query().Get("q"), int(limit))
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, res)
		return nil
	})
	route("GET", "/api/v1/notifications", "Your newest notifications (mentions).", nil, []chat.Notification{}, 0, func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
		ns, err := c.Notifications(r.Context(), p, 50)
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, ns)
		return nil
	})
	route("POST", "/api/v1/notifications/read", "Mark your notifications up to a time read.", NotificationsReadBody{}, Ended{}, 0, func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
		var b NotificationsReadBody
		if err := DecodeJSON(r, &b); err != nil {
			return err
		}
		n, err := c.MarkNotificationsRead(r.Context(), p, b.UpTo)
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, Ended{Ended: n})
		return nil
	})
	route("POST", "/api/v1/external-chats", "Start a one-to-one chat with a member of another organisation, by exact email, when both organisations allow it.", ExternalChatBody{}, chat.Channel{}, 0, func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
		var b ExternalChatBody
		if err := DecodeJSON(r, &b); err != nil {
			return err
		}
		ch, err := c.StartExternalChat(r.Context(), p, b.Email)
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, ch)
		return nil
	})
	route("GET", "/api/v1/people", "Names of the people with the given ?id= (repeatable): your organisation's, or for guests those who share a team.", nil, []chat.Person{}, 0, func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
		var who []ids.UserID
		for _, id := range r.URL.Query()["id"] {
			who = append(who, ids.UserID(id))
		}
		people, err := c.People(r.Context(), p, who)
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, people)
		return nil
	})
}

// NotificationsReadBody says up to when notifications were seen.
type NotificationsReadBody struct {
	UpTo time.Time `json:"up_to"`
}

// ExternalChatBody names the person in another organisation.
type ExternalChatBody struct {
	Email string `json:"email"`
}
