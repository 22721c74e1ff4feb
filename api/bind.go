package api

import (
	"context"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/datavenue/datavenue"
)

// Most writes have one shape: decode the body strictly into the service's input, call one service
// method with the request's context and caller, answer its result as JSON. create and update are
// that shape, so a handler says only which method it calls and where the result lives; the
// decoding (decodeJSON: media type, duplicate and wrong-case keys, unknown fields) and the errors
// are the same for every route. Handlers that do more (a header, an idempotency key, two results)
// stay written out.
//
// Both take the service call as a method value evaluated inside the handler, when the request
// arrives: the route table is also built with no services at all (the OpenAPI document).

// create decodes the body into In, calls the service on the collection and answers 201 Created
// with the result and, in Location, where it can be read back.
func create[In, Out any](c *fiber.Ctx, call func(context.Context, datavenue.Caller, In) (Out, error), location func(Out) string) error {
	var in In
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	out, err := call(c.UserContext(), callerOf(c), in)
	if err != nil {
		return err
	}
	return created(c, location(out), out)
}

// update decodes the body into In, calls the service on the resource the path's :id names and
// answers 200 with the result.
func update[In, Out any](c *fiber.Ctx, call func(context.Context, datavenue.Caller, string, In) (Out, error)) error {
	var in In
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	out, err := call(c.UserContext(), callerOf(c), c.Params("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// onID turns a call on the resource the path's :id names into one create takes, for the writes
// that make something under a resource (a corrected certificate, an assessment, an agreement).
func onID[In, Out any](c *fiber.Ctx, call func(context.Context, datavenue.Caller, string, In) (Out, error)) func(context.Context, datavenue.Caller, In) (Out, error) {
	id := c.Params("id")
	return func(ctx context.Context, caller datavenue.Caller, in In) (Out, error) {
		return call(ctx, caller, id, in)
	}
}

// created answers 201 with a Location. The Location is a path, not an absolute URL (RFC 9110
// allows a reference): the venue does not trust the request's Host to build one, and a client
// resolves it against the URL it called.
func created(c *fiber.Ctx, location string, body any) error {
	c.Location(location)
	return c.Status(http.StatusCreated).JSON(body)
}
