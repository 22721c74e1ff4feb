package api

import (
	"bufio"
	"context"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue/matching"
)

// EventStream writes a live feed as Server-Sent Events (why SSE: feedRoutes): the API's auction
// feed and the console's page feed both go through it.
type EventStream struct {
	Events <-chan matching.FeedEvent
	// Cancel ends the subscription (and gives back the organisation's feed); it runs when the
	// stream ends, however it ends.
	Cancel context.CancelFunc
	// Closing ends every stream when the venue shuts down.
	Closing <-chan struct{}
	// Heartbeat is how often a comment line goes out when nothing else does; WriteTimeout bounds
	// each write.
	Heartbeat, WriteTimeout time.Duration
	// Start writes what comes before the events; false ends the stream once it is sent.
	Start func(w *bufio.Writer) bool
	// Write writes one event as the client reads it (or nothing, for an event it does not show).
	Write func(w *bufio.Writer, e matching.FeedEvent)
}

// Serve sets the response up as the stream. It returns at once: fasthttp runs the stream writer
// after the handler has returned, and the request's context is gone by then, which is why the
// subscription has a context of its own (Cancel).
func (s EventStream) Serve(c *fiber.Ctx) {
	// no-cache and X-Accel-Buffering: no keep caches and nginx-style proxies from holding events
	// back (compression is skipped for event streams).
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("X-Accel-Buffering", "no")
	// The server's write timeout is one deadline for a whole response; a feed has no end, so each
	// write gets its own instead: a client that stops reading is dropped, one that reads is kept
	// until it leaves.
	conn := c.Context().Conn()
	deadline := func() { _ = conn.SetWriteDeadline(time.Now().Add(s.WriteTimeout)) }
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer s.Cancel()
		heartbeat := time.NewTicker(s.Heartbeat)
		defer heartbeat.Stop()
		deadline()
		if goOn := s.Start(w); w.Flush() != nil || !goOn {
			return
		}
		for {
			select {
			case <-s.Closing:
				return
			case e, ok := <-s.Events:
				if !ok {
					return
				}
				// Every event already waiting goes out with this one, in one flush: a burst of bids
				// (the last seconds of a busy auction) costs one write, not one per bid, so a feed keeps
				// up on a loaded machine instead of falling behind (and being told it lagged).
				s.Write(w, e)
				for waiting := true; waiting; {
					select {
					case e, ok = <-s.Events:
						if !ok {
							_ = w.Flush()
							return
						}
						s.Write(w, e)
					default:
						waiting = false
					}
				}
			case <-heartbeat.C:
				// A comment line: clients ignore it, but proxies that close idle connections see
				// traffic, and a client that has gone is found at the flush.
				fmt.Fprint(w, ": keep-alive\n\n")
			}
			deadline()
			if w.Flush() != nil { // the client went away
				return
			}
		}
	})
}
