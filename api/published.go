package api

// PublishedDocument is the OpenAPI document of a venue that serves every route (the projection's,
// the webhooks' and /metrics included), built without a running venue: what `datavenue openapi`
// writes and the generated client in client/ is made from. It is byte for byte what /openapi.json
// serves for the same version and servers (none: the document names its own origin, "/").
func PublishedDocument(version string, servers ...string) ([]byte, error) {
	h := &handlers{d: Deps{Projection: documentedProjection{}, Webhooks: documentedWebhooks{}, Subscriptions: documentedSubscriptions{},
		Revisions: documentedRevisions{}, UsageReports: documentedUsageReports{}, Version: version}}
	return jsonMarshal(Document(h.routes(), version, servers...))
}

// documentedProjection and documentedWebhooks stand in for the optional services so that their
// routes are documented; the document never calls them.
// They embed a nil interface: a call would panic, which is the point, since building the document
// must never reach a service.
type (
	documentedProjection struct{ Projection }
	documentedWebhooks   struct{ Webhooks }
	// The subscriptions' routes (issue 15) were missing from the published document and so from
	// the generated client until these stood in for them.
	documentedSubscriptions struct{ Subscriptions }
	documentedRevisions     struct{ Revisions }
	documentedUsageReports  struct{ UsageReports }
)
