"""The back office: every staff screen under one address and one sign-in (OpenID Connect), a
backend-for-frontend that carries out each action through the five services' HTTP APIs with a
short-lived bearer token issued for the signed-in person."""
