"""Communications (OD 1.3): subscribers, the newsletter over SMTP, service mails, the communications log."""
