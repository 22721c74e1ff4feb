package api

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"io"
	"os"
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

// localBodyRead marks a request whose body a route has read (or refused): closeUnreadBodies then
// leaves it alone, and a second readBodyUpTo on the same request does nothing.
const localBodyRead = "body_read"

// bodyTooLarge is the 413 problem; it states the route's limit, so a client can split or
// compress its upload rather than guess.
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
	// Checked again here, since a handler may call this without guardBodySize before it.
	if req.Header.ContentLength() > limit {
		return bodyTooLarge(limit)
	}
	var raw []byte
	if stream := c.Context().RequestBodyStream(); stream != nil {
		// Never req.Body() here: with a stream it reads the whole body, whatever its size.
		// One byte past the limit is read so that "exactly the limit" and "more" differ.
		buf, err := io.ReadAll(io.LimitReader(stream, int64(limit)+1))
		// A read that failed midway leaves the connection at an unknown point of the body:
		// it cannot carry another request, so it is closed after the answer.
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

// spoolBody writes the request body, up to limit (decoded, within the same limit, when gzip or
// deflate encoded), to a temporary file, and returns it open at its start: a statement of tens of
// megabytes is then read from disk a row at a time, never held in memory. The caller removes it
// (removeSpool).
func spoolBody(c *fiber.Ctx, limit int) (*os.File, error) {
	c.Locals(localBodyRead, true)
	req := c.Request()
	if req.Header.ContentLength() > limit {
		return nil, bodyTooLarge(limit)
	}
	var src io.Reader = bytes.NewReader(req.Body()) // not streamed (app.Test in the tests)
	if stream := c.Context().RequestBodyStream(); stream != nil {
		src = stream // never req.Body() here: with a stream it reads the whole body
	}
	f, err := spool(src, limit)
	if err != nil {
		if datavenue.KindOf(err) == datavenue.KindTooLarge {
			discardBody(c)
		} else {
			c.Context().SetConnectionClose()
		}
		return nil, err
	}
	var decode func(io.Reader) (io.Reader, error)
	switch strings.ToLower(strings.TrimSpace(string(req.Header.Peek(fiber.HeaderContentEncoding)))) {
	case "", "identity":
		return f, nil
	case "gzip", "x-gzip":
		decode = func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }
	case "deflate":
		decode = func(r io.Reader) (io.Reader, error) { return flate.NewReader(r), nil }
	default:
		removeSpool(f)
		return nil, fiber.NewError(fiber.StatusUnsupportedMediaType, "request bodies may be sent as they are, or gzip or deflate encoded")
	}
	// An encoded statement is decoded into a second spool, again within the limit, because the
	// import reads its statement twice from the start (checked whole, then applied): a
	// decompressing reader could be read only once. The encoded spool is removed either way.
	defer removeSpool(f)
	r, err := decode(f)
	if err != nil {
		return nil, datavenue.Malformed("body_undecodable", "the encoded body could not be decoded")
	}
	return spool(r, limit)
}

// spool copies r, up to limit bytes, to a new temporary file open at its start.
func spool(r io.Reader, limit int) (*os.File, error) {
	f, err := os.CreateTemp("", "datavenue-upload-*")
	if err != nil {
		return nil, err
	}
	n, err := io.Copy(f, io.LimitReader(r, int64(limit)+1))
	switch {
	case err != nil:
		removeSpool(f)
		return nil, datavenue.Malformed("body_unreadable", "the request body could not be read")
	case n > int64(limit):
		removeSpool(f)
		return nil, bodyTooLarge(limit)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		removeSpool(f)
		return nil, err
	}
	return f, nil
}

// removeSpool closes and removes a spooled body. Errors are ignored: the file is in the temporary
// directory and a failure to remove it must not change the answer to the request.
func removeSpool(f *os.File) {
	_ = f.Close()
	_ = os.Remove(f.Name())
}

// readBody is readBodyUpTo as a route's middleware. It runs before authentication on purpose: a
// small body is cheap to read whoever sends it, and reading it before anything else means an
// oversized chunked body is cut off even when the request would be refused anyway.
func readBody(limit int) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := readBodyUpTo(c, limit); err != nil {
			return err
		}
		return c.Next()
	}
}

// decodeContentEncoding undoes a gzip or deflate Content-Encoding within limit: a few kilobytes of
// gzip can unfold into gigabytes (a decompression bomb), so the decoded size is bounded, not the
// encoded one only. Other encodings (br, zstd) are 415, as the venue cannot read them.
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
