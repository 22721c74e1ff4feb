package api

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"io"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
)

// Request bodies are streamed (fasthttp reads the headers and at most 8 KiB of the body before
// routing), so a body is read only by the route that wants it, only as far as its limit, and
// only once the caller may send it: a large body is refused by its Content-Length before a byte
// of it is read, a chunked one is cut off at the route's limit while it is read, and a statement
// import (the one route with a large limit) is read only for an authenticated clerk. Nothing
// reads a body whole just to find it too large. (Found by an outside tester: eight concurrent 60
// MiB posts with no token took the venue to 1.1 GiB; issue 11.)

const localBodyRead = "body_read"

func bodyTooLarge(limit int) error {
	return &datavenue.Error{Kind: datavenue.KindTooLarge, Code: "body_too_large",
		Message: "the request body is larger than this route accepts (" + strconv.Itoa(limit) + " bytes)"}
}

// guardBodySize refuses a body whose declared length is over limit, before reading any of it.
func guardBodySize(limit int) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if c.Request().Header.ContentLength() > limit {
			return bodyTooLarge(limit) // closeUnreadBodies discards the body, unread
		}
		return c.Next()
	}
}

// readBodyUpTo reads the body through the stream (a chunked one too), refusing it once it passes
// limit, decodes a gzip or deflate Content-Encoding (the decoded body within the same limit, so a
// small compressed body cannot unfold into a large one), and leaves it as the request's body for
// the handlers.
func readBodyUpTo(c *fiber.Ctx, limit int) error {
	if c.Locals(localBodyRead) != nil {
		return nil
	}
	c.Locals(localBodyRead, true)
	req := c.Request()
	if req.Header.ContentLength() > limit {
		return bodyTooLarge(limit)
	}
	var raw []byte
	if stream := c.Context().RequestBodyStream(); stream != nil {
		// Never req.Body() here: with a stream it reads the whole body, whatever its size.
		buf, err := io.ReadAll(io.LimitReader(stream, int64(limit)+1))
		if err != nil {
			c.Context().SetConnectionClose()
			return datavenue.Malformed("body_unreadable", "the request body could not be read")
		}
		raw = buf
	} else {
		raw = req.Body() // not streamed (app.Test in the tests): what fasthttp already read
	}
	if len(raw) > limit {
		discardBody(c)
		return bodyTooLarge(limit)
	}
	decoded, err := decodeContentEncoding(string(req.Header.Peek(fiber.HeaderContentEncoding)), raw, limit)
	if err != nil {
		return err
	}
	req.Header.Del(fiber.HeaderContentEncoding) // decoded here: Fiber must not decode it again, unbounded
	req.SetBodyRaw(decoded)
	return nil
}

// readBody is readBodyUpTo as a route's middleware.
func readBody(limit int) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := readBodyUpTo(c, limit); err != nil {
			return err
		}
		return c.Next()
	}
}

func decodeContentEncoding(encoding string, raw []byte, limit int) ([]byte, error) {
	var r io.Reader
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "identity":
		return raw, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, datavenue.Malformed("body_undecodable", "the gzip-encoded body could not be decoded")
		}
		r = zr
	case "deflate":
		r = flate.NewReader(bytes.NewReader(raw))
	default:
		return nil, fiber.NewError(fiber.StatusUnsupportedMediaType, "request bodies may be sent as they are, or gzip or deflate encoded")
	}
	out, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, datavenue.Malformed("body_undecodable", "the encoded body could not be decoded")
	}
	if len(out) > limit {
		return nil, bodyTooLarge(limit)
	}
	return out, nil
}

// drainLimit is how much of a body nobody reads the venue discards so that the client, still
// sending, gets the answer: closing at once resets the connection under the client's writes, and
// it never sees the 413 or 401. Bigger bodies are cut off (the connection closed) after that.
const drainLimit = 64 << 20

// discardBody reads what is left of the body into nothing (no memory kept), up to drainLimit; if
// more remains, or reading fails, the connection closes after the answer.
func discardBody(c *fiber.Ctx) {
	stream := c.Context().RequestBodyStream()
	if stream == nil {
		return
	}
	n, err := io.Copy(io.Discard, io.LimitReader(stream, drainLimit+1))
	if err != nil || n > drainLimit {
		c.Context().SetConnectionClose()
	}
}

// closeUnreadBodies deals with the body of a request that no route read (a 401, a 404, a 413 by
// Content-Length): it is discarded after the handlers, never kept, so the next request on the
// connection starts where it should.
func closeUnreadBodies(c *fiber.Ctx) error {
	err := c.Next()
	if c.Locals(localBodyRead) == nil {
		c.Locals(localBodyRead, true)
		discardBody(c)
	}
	return err
}
