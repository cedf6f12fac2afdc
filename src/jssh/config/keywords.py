"""ssh_config(5) keywords in OpenSSH's own spelling.

`ssh -G` prints keywords in lower case; a config reads better in the spelling of the
manual (ProxyJump, not proxyjump), and ssh accepts either. From OpenSSH 9.2's
ssh_config(5); a keyword not listed here (a newer one) is written as ssh printed it.
"""

from __future__ import annotations

_KEYWORDS = """
AddKeysToAgent AddressFamily BatchMode BindAddress BindInterface CASignatureAlgorithms
CanonicalDomains CanonicalizeFallbackLocal CanonicalizeHostname CanonicalizeMaxDots
CanonicalizePermittedCNAMEs CertificateFile CheckHostIP Ciphers ClearAllForwardings
Compression ConnectTimeout ConnectionAttempts ControlMaster ControlPath ControlPersist
DynamicForward EnableEscapeCommandline EnableSSHKeysign EscapeChar ExitOnForwardFailure
FingerprintHash ForkAfterAuthentication ForwardAgent ForwardX11 ForwardX11Timeout
ForwardX11Trusted GSSAPIAuthentication GSSAPIClientIdentity GSSAPIDelegateCredentials
GSSAPIKexAlgorithms GSSAPIKeyExchange GSSAPIRenewalForcesRekey GSSAPIServerIdentity
GSSAPITrustDns GatewayPorts GlobalKnownHostsFile HashKnownHosts HostKeyAlgorithms
HostKeyAlias HostbasedAcceptedAlgorithms HostbasedAuthentication HostName IPQoS
IdentitiesOnly IdentityAgent IdentityFile IgnoreUnknown KbdInteractiveAuthentication
KbdInteractiveDevices KexAlgorithms KnownHostsCommand LocalCommand LocalForward
LogLevel LogVerbose MACs NoHostAuthenticationForLocalhost NumberOfPasswordPrompts
PKCS11Provider PasswordAuthentication PermitLocalCommand PermitRemoteOpen Port
PreferredAuthentications ProxyCommand ProxyJump ProxyUseFdpass PubkeyAcceptedAlgorithms
PubkeyAuthentication RekeyLimit RemoteCommand RemoteForward RequestTTY RequiredRSASize
RevokedHostKeys SecurityKeyProvider SendEnv ServerAliveCountMax ServerAliveInterval
SessionType SetEnv StdinNull StreamLocalBindMask StreamLocalBindUnlink
StrictHostKeyChecking SyslogFacility TCPKeepAlive Tunnel TunnelDevice UpdateHostKeys
User UserKnownHostsFile VerifyHostKeyDNS VisualHostKey XAuthLocation
""".split()  # noqa: SIM905 - one word list, read like the manual

_SPELLING = {word.lower(): word for word in _KEYWORDS}


def spelled(keyword: str) -> str:
    """KEYWORD as ssh_config(5) spells it (`proxyjump` -> `ProxyJump`)."""
    return _SPELLING.get(keyword.lower(), keyword)
