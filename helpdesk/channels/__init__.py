"""Customer-facing channels: the chat widget API, the contact form, the customer
portal, "did this solve it?", business hours, handoff to a human and rate limits."""
