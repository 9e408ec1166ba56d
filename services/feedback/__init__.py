"""Feedback after every activity and the yearly user survey (OD 3.1). Not built yet: see issue 4."""
