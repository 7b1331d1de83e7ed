package audit

import "github.com/manifoldgw/manifold/internal/event"

// CallDataOf is the data of the audit event published for c, as the
// operator console shows it next to the call's waterfall.
func CallDataOf(c *event.Call) CallData { return callData(c, c.TraceID) }
