"""The newsletter, service mails and the communications log (OD 1.3). Not built yet: see issue 5."""
