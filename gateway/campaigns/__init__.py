"""Marketing: campaign lifecycle, review, expansion, templates, links, compliance, analytics."""
