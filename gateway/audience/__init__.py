"""The people messages go to: contacts, lists, segments, imports, consent, keywords, privacy."""
