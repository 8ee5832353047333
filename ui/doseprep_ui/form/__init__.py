"""The form: the request's fields, typed values turned into a request, and the lab and protocol
settings shown beside it."""
