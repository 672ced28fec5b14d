// Who is behind an IP.
