"""The ssh config files jssh owns (the managed file, hosts.json) and the one Include
line it adds to the user's config, edited on bytes.

    store       transactions: hosts.json, the managed file and the Include, together
    sshconfig   the managed file's text; the Include line inserted and taken out
    resolve     what `Host NAME-jupyter` must say to reach HOST as `ssh HOST` does;
                drift, when that changed since
    values      `ssh -G` values written back in ssh_config(5) syntax
    userconfig  the user's own config read as ssh reads it (Includes followed)
    keywords    keywords in OpenSSH's own spelling
"""
