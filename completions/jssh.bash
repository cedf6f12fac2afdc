# jssh's bash completion (`jssh completion bash`); do not edit.
_jssh_completion() {
    local IFS=$'
'
    COMPREPLY=( $( env COMP_WORDS="${COMP_WORDS[*]}" \
                   COMP_CWORD=$COMP_CWORD \
                   _JSSH_COMPLETE=complete_bash $1 ) )
    return 0
}

complete -o default -F _jssh_completion jssh
