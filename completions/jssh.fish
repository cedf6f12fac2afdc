# jssh's fish completion (`jssh completion fish`); do not edit.
complete --command jssh --no-files --arguments "(env _JSSH_COMPLETE=complete_fish _TYPER_COMPLETE_FISH_ACTION=get-args _TYPER_COMPLETE_ARGS=(commandline -cp) jssh)"
