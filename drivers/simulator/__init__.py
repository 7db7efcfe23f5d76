"""Simulated GSM network and AT modems, exposed on ptys and TCP for any AT client."""
