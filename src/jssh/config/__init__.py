"""The ssh config files jssh owns (the managed file, hosts.json) and the one Include
line it adds to the user's config, edited on bytes."""
