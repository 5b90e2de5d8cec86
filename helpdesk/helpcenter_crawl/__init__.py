"""A help center connected by URL: a Zendesk Help Center's API or any site, crawled politely."""
