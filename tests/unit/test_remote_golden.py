"""The scripts built from src/jssh/remote/*.sh are the programs that the Python strings
they replace built (commit 7650c51), for a spread of hosts.

GOLDEN is what that commit produced, captured once and kept here: its
remote.ensure_script, inspect_script, status_script, stop_script, prelude,
prepare_run_script, log_command and jupyter_args for each record of RECORDS, and the four
Slurm scripts that its SlurmJupyter (_find_or_submit, _query, _wait_until_ready,
_cancel) handed to a fake Ssh, for the same records, with TOKEN as the new token.

"The same program" (canonical()) allows only this between old and new text:
- The parameter assignments (`NAME=value` lines) compare as a mapping. The loader puts
  them all at the top, where the old code put some after the prelude; that is safe
  because nothing before an assignment's old place reads the variable, and nothing
  else assigns it (both checked).
- An assignment the old script made and nothing read (SOCK, in the scripts that
  don't touch the socket) is gone (checked: nothing reads it).
- find_jupyter and write_run are functions now: each call is replaced by the body. They
  use no positional parameters, `return` or `local`, so a call runs just its body
  (checked).
- Comment lines and blank lines are dropped. The one here-document has neither
  (checked), so that changes no program text.
Everything else must match byte for byte.
"""

from __future__ import annotations

import base64
import difflib
import json
import lzma
import re
import shlex
from collections.abc import Callable
from functools import cache
from importlib import resources

import pytest

from jssh import remote
from jssh.hosts import Endpoint, HostRecord, Launch
from jssh.remote import loader

TOKEN = "tok_EN-0123456789abcdefghijklmnopqrstuvwxyzABC"


def _record(
    name: str,
    *,
    socket: str = "/tmp/jssh-alice/NAME.sock",
    port: int | None = None,
    slurm_args: str | None = None,
    **launch: object,
) -> HostRecord:
    sock = socket.replace("NAME", name) if socket and port is None else None
    return HostRecord(
        name=name,
        target=f"alice@{name}.example:2222",
        local_port=8899,
        endpoint=Endpoint(socket=sock, port=port),
        ssh_options=[("HostName", "h")],
        control_path=f"/home/a/.ssh/jssh/cm/{name}",
        launch=Launch(**launch),  # type: ignore[arg-type]
        slurm=slurm_args,
    )


RECORDS = {
    "plain": _record("ws"),
    "venv": _record(
        "gpu1",
        venv="~/venvs/jupyter lab",
        notebook_dir="~/notebooks",
        extra_args=["--ServerApp.iopub_data_rate_limit=1e10", "--name=it's"],
    ),
    "conda": _record("conda-box", conda="my env", app="notebook"),
    "login": _record("login.host", login_shell=True, notebook_dir="/data/o'brien"),
    "command": _record(
        "box",
        command=["apptainer", "exec", "/img/jupyter lab.sif", "jupyter"],
        extra_args=["--debug"],
    ),
    "tcp": _record("tcp-host", port=8888),
    "socket": _record("sock.host:1", socket="/run/user/o'brien dir/NAME.sock"),
    "slurm": _record("cluster", slurm_args="--time=10 --partition 'gpu queue' --gres=gpu:1"),
}

SCRIPTS: dict[str, Callable[[HostRecord], str]] = {
    "ensure": lambda r: remote.ensure_script(r, TOKEN, wait_seconds=90.0, use_tmux=True),
    "ensure_notmux_short": lambda r: remote.ensure_script(
        r, TOKEN, wait_seconds=0.01, use_tmux=False
    ),
    "inspect": remote.inspect_script,
    "status": remote.status_script,
    "stop": remote.stop_script,
    "slurm_submit": lambda r: remote.slurm_submit_script(r, TOKEN, shlex.split(r.slurm or "")),
    "slurm_query": lambda r: remote.slurm_query_script(r, None),
    "slurm_query_id": lambda r: remote.slurm_query_script(r, "4242"),
    "slurm_wait_ready": lambda r: remote.slurm_wait_ready_script(r, "4242", wait_seconds=90.0),
    "slurm_wait_ready_short": lambda r: remote.slurm_wait_ready_script(r, "7", wait_seconds=0.01),
    "slurm_cancel": lambda r: remote.slurm_cancel_script(r, None),
    "slurm_cancel_id": lambda r: remote.slurm_cancel_script(r, "4242"),
}
# What session/slurm.py still builds from, until it calls the slurm_*_script functions.
ARGV: dict[str, Callable[[HostRecord], list[str]]] = {
    "log_command": lambda r: remote.log_command(r, 50, True),
    "log_command_nofollow": lambda r: remote.log_command(r, 25, False),
    "jupyter_args": remote.jupyter_args,
}


@cache
def golden() -> dict[str, dict[str, object]]:
    data = lzma.decompress(base64.b85decode("".join(_GOLDEN.split())))
    loaded: dict[str, dict[str, object]] = json.loads(data)
    return loaded


# -- what "the same program" means ------------------------------------------------------

FILES = sorted(
    p.name.removesuffix(".sh")
    for p in resources.files("jssh.remote").iterdir()
    if p.name.endswith(".sh")
)
PARAMETERS = frozenset(p for name in FILES for p in loader.header(name).params)
_ASSIGNMENT = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)\n", re.M)
_FUNCTION = re.compile(r"^(find_jupyter|write_run)\(\) \{\n(.*?)^\}\n", re.M | re.S)
_HEREDOC = re.compile(r"<<'(\w+)'\n(.*?)^\1$", re.M | re.S)


def _reads(name: str, text: str) -> bool:
    return re.search(rf"\$\{{?{name}\b", text) is not None


def _take_parameters(text: str) -> tuple[dict[str, str], str]:
    """The parameter assignments (as a mapping) and the text without them."""
    found: dict[str, str] = {}

    def take(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in PARAMETERS:
            return match.group(0)
        assert name not in found, f"{name} is assigned twice"
        (found[name],) = shlex.split(match.group(2))
        # Safe to move to the top: nothing before this line reads it.
        assert not _reads(name, text[: match.start()]), f"{name} is read before it is set"
        return ""

    return found, _ASSIGNMENT.sub(take, text)


def _inline_functions(text: str) -> str:
    bodies: dict[str, str] = {}

    def take(match: re.Match[str]) -> str:
        lines = match.group(2).splitlines(keepends=True)
        assert all(line.startswith("  ") or line == "\n" for line in lines)
        body = "".join(line[2:] if line != "\n" else line for line in lines)
        assert not re.search(r"\$\{?[1-9@*#]|(^|[;&|{(])\s*(return|local)\b", body, re.M)
        bodies[match.group(1)] = body
        return ""

    text = _FUNCTION.sub(take, text)
    for name, body in bodies.items():
        text, calls = re.subn(rf"^{name}\n", lambda _m, b=body: b, text, flags=re.M)
        assert calls >= 1, f"{name} is defined and never called"
    return text


def canonical(text: str) -> tuple[dict[str, str], str]:
    """(parameters, program text) of a script, as the module docstring describes."""
    params, text = _take_parameters(text)
    text = _inline_functions(text)
    for _, heredoc in _HEREDOC.findall(text):
        assert all(
            line.strip() and not line.lstrip().startswith("#") for line in heredoc.splitlines()
        )
    lines = [line for line in text.splitlines() if line.strip()]
    return params, "\n".join(line for line in lines if not line.lstrip().startswith("#"))


def assert_same_program(old: str, new: str) -> None:
    old_params, old_text = canonical(old)
    new_params, new_text = canonical(new)
    if old_text != new_text:
        diff = difflib.unified_diff(
            old_text.splitlines(), new_text.splitlines(), "old", "new", lineterm=""
        )
        pytest.fail("the programs differ:\n" + "\n".join(diff))
    for name in set(old_params) - set(new_params):
        assert not _reads(name, old_text), f"{name} is read but no longer assigned"
    assert new_params == {k: v for k, v in old_params.items() if k in new_params}


# -- the comparisons ------------------------------------------------------------------------


# Changes made on purpose since 7650c51, applied to the old program before comparing,
# so that everything else must still match.
CHANGED_SINCE = (
    # server.pid holds the pid and then its start time: a pid alone lied once the server
    # was gone (a crash, a reboot) and another process of the account had it, which on a
    # machine whose pids wrap at 32768 takes seconds. The lab caught it. (Read with
    # builtins, not sed: ensure.sh asks ten times a second.)
    (
        """server_pid() { cat "$D/server.pid" 2>/dev/null || true; }""",
        """server_pid() {
  _pid='' _started=''
  if [ -r "$D/server.pid" ]; then
    { IFS= read -r _pid; IFS= read -r _started; } <"$D/server.pid" || :
  fi
  if [ -n "$_pid" ] && [ -n "$_started" ] &&
     [ "$(ps -o lstart= -p "$_pid" 2>/dev/null)" != "$_started" ]; then
    return 0
  fi
  [ -z "$_pid" ] || printf '%s\\n' "$_pid"
}""",
    ),
    (
        r'say "echo \$\$ > $(shq "$D/server.pid")"',
        r'say "{ echo \$\$; ps -o lstart= -p \$\$; } > $(shq "$D/server.pid")"',
    ),
    # ensure.sh waits in steps of 50 ms, not 100 (`up` waits on it), and on a socket
    # reads the log only every fourth step.
    (
        """    if grep -q "is running at" "$LOG" 2>/dev/null; then break; fi
  fi
  i=$((i + 1))
  if [ "$i" -gt "$WAIT_TENTHS" ]; then""",
        """    if { [ -z "$SOCK" ] || [ $((i % 4)) -eq 0 ]; } &&
       grep -q "is running at" "$LOG" 2>/dev/null; then break; fi
  fi
  i=$((i + 1))
  if [ "$i" -gt $((WAIT_TENTHS * 2)) ]; then""",
    ),
    (
        """    exit 7
  fi
  sleep 0.1
done""",
        """    exit 7
  fi
  sleep 0.05
done""",
    ),
    # ensure.sh takes the new server's pid line as it is: with server_pid, one that exited
    # before the first look had no start time left to match, read as "not started yet",
    # and `up` (or the watchdog's restart) waited the whole timeout for it. CI caught it.
    (
        """  [ -z "$PID" ] && PID=$(server_pid)
  if [ -n "$PID" ] && ! alive "$PID"; then""",
        """  if [ -z "$PID" ] && [ -r "$D/server.pid" ]; then
    IFS= read -r PID <"$D/server.pid" || PID=""
  fi
  if [ -n "$PID" ] && ! alive "$PID"; then""",
    ),
    # alive() reads the state from /proc with builtins where there is one: ensure.sh asks
    # ten times a second while a server starts, and ps | grep cost three processes a time.
    (
        """alive() {
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null &&
    ! ps -o stat= -p "$1" 2>/dev/null | grep -q '^Z'
}""",
        """alive() {
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
  if [ -d /proc/self ]; then
    read -r _stat <"/proc/$1/stat" 2>/dev/null || return 1
    case ${_stat##*") "} in Z*) return 1 ;; esac
    return 0
  fi
  ! ps -o stat= -p "$1" 2>/dev/null | grep -q '^Z'
}""",
    ),
)


def as_changed_since(old: str) -> str:
    for before, after in CHANGED_SINCE:
        old = old.replace(before, after)
    return old


@pytest.mark.parametrize("script", sorted(SCRIPTS))
@pytest.mark.parametrize("label", sorted(RECORDS))
def test_each_script_is_the_program_the_old_code_built(label: str, script: str) -> None:
    new = SCRIPTS[script](RECORDS[label])
    assert_same_program(as_changed_since(str(golden()[label][script])), new)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
@pytest.mark.parametrize("label", sorted(RECORDS))
def test_all_parameters_are_assigned_at_the_top_and_nowhere_else(label: str, script: str) -> None:
    new = SCRIPTS[script](RECORDS[label])
    top, _, rest = new.partition("\n\n")
    names = [line.partition("=")[0] for line in top.splitlines()]
    assert tuple(names) == loader.parameters(
        script.removesuffix("_short").removesuffix("_id").removesuffix("_notmux")
    )
    assert not [m.group(0) for m in _ASSIGNMENT.finditer(rest) if m.group(1) in PARAMETERS]


@pytest.mark.parametrize("argv", sorted(ARGV))
@pytest.mark.parametrize("label", sorted(RECORDS))
def test_argv_lists_are_unchanged(label: str, argv: str) -> None:
    assert ARGV[argv](RECORDS[label]) == golden()[label][argv]


def test_the_golden_output_covers_every_case() -> None:
    # prelude, prelude_lock and prepare_run, the pieces slurm.py once assembled its
    # scripts from, stay in the golden data: the Slurm scripts now cover them whole.
    legacy = {"prelude", "prelude_lock", "prepare_run"}
    for label in RECORDS:
        assert set(golden()[label]) == set(SCRIPTS) | set(ARGV) | legacy


# Captured from commit 7650c51 (see the module docstring): lzma-compressed JSON,
# {record label: {case: script text or argv}}, base85.
_GOLDEN = """
{Wp48S^xk9=GL@E0stWa8~^|S5YJf5<(YIBxm^G~h=^x20Xfh~F~E!~A$LrU%3O5wY+4H*^FHBQr>SA?_B%YV0^1Q+m>z}1F
j)K@HJtNH`v+61Bw!^N=MFmU%BX60_OllZmjS*Buq9q7D9{zma%9{6C6|t<y=qxxw*~ZPd_uKuR~7OeTd2JVBT2j}8TFw0*s
dt72bB#P@5aV7&)F(x(U?h{FiaDZ>TKQ;azU^BI+M4ddSi<X5dI>e;hyRUWH>%-#`fc@3({mal>xqM)t12c@7<GFR>V4u<s>
EIWpJdk>?k8%i7wA=Z@8-YGX+($>Slvb+IKZu>FYP;z_fld3;dGPpUcC#!GO2R8L${mEBDci#=W+A;LX5!Cs5Y^rCTCOZ@lN
3rfpZdy#>Y-4i87OGg>;s^vfv<8gI(m5s?ayO|rCu3vdRj#&k3Adb(>~#S}6^MAUV8^VC7nQ$h4)ri4cp)(6)PCIX`LC>h$M
e%s|R=}t|mZ;gxZ*7a=OMEXY>g{lD5&ri^OXbmAS+;Yp^?#rNyi7KCst?mgPF#>d%tF2*<CLqJk8YP*I$Un`IEBFrZ*(<cPp
U%i{l>DbK2Ho){N6@YjGc&l0$bD?pGaHjyy_gICcnaQ2J_VQ@9pqUdyVyH8$lNR3<+9(0O=~<-bt8=xLrZ1}TDoTV?L*QppI
i_T>&<<-ACieKfvI^`b$+hmcP566nTH0U0PZWWqIAh}=YJ#Qjdpx9ZhOrip{7@<r{Fv!M8YHiupG$CoA<u%y@0x%f~83{$M@
MCZe{MpY8+=)Tob&X*2ihaN)M_r1-QDJ+UC;l$TZGpaeV)U$L(_3nB7*-IS2J0ZNu|`ve4n9==a<h!}=H2dTYVp`H>8Zy!Ue
V<#T^6{j&^4lXXnOl1FPXhulI0j(B>Tp~0amcv~!eMJ-h9g<}aH!+peYp^9wHc?=dG?{H0McM_%(ZTrb->3j|CM<hDAr<Fq>
!IPQeDkB|e#i$jZXkR;D?!v$v{wM7Mg?!}hx=&`u=e!ierytuHn1NN_6t&pktFfBD#tCx`SEAV>)`u#+?~p$pv&l$g>iY`>G
W%D_i#Lw4(gKeGlWL^<(!$xZSm`$}+y^}nFIhzWv~`G;QVhh*WR1tW9%oART7t;F?4eWkxUO~*md)25^vzTuiAa(cpayyC^w
1Ff5;#4pQI01hgKOnSU3j`3eD_h=aeSz593yhyhln~U7EP=l4}?K<sJpbiW}kO9hwgaex0`gfPFM}SxvUj^`ZPz&ia<gGA8K
RMN?=x>zZRRM;*g1Dfp#czgru^IE=T7N7Ie6{HKI;43}*wLW&Ar;wn^;W06fe^r$7gMlzgm^NWsg$em|g3@5PH#tTjylgdg%
`(E}&h_&0gUbfgeB0BcS=1|pfh@y&ne-PiOI6}nDw6wCjOOS#eg%`5=Fi-uqk1e^*wgsMWeq9P*K1-^9K0@|l|8C{T6evsCw
?-1c|L#X;sQ3BK1%R!_z^j?276vbXLO7YQ!!VVALb!ImEvaSqxim;F-437IYNwS&z-+Y{f`P?u}ErwR1HU;XlZYy%%KyqS7-
8bBs_Jzn8dU5w3oe!d=xI|^gacdqtsW^;?YBfij%p^zk#GW|>&&HLEr^IHjkeS|=ZoPrk0GM_2BH-XF4{Rdx#oP0$6LX4$lQ
g3#U2wnU)J5i6n7f?_2{b|<j=3|5jj(d=$z-_?9P}!7uNe^qi`W#4s*RtV`;>T<<@+T>ZqoQ~S(L|b<dw+;B>XIk3e`ka1|L
#NP);gI`Ai$T<{Ri1gRhUA$`x*m^=b&$e3h0jAc)tIE5Xwd6=^x9OPZ<`9|1yZ;d|fnlQ{Kr*`iP=95T1PY8rc64VpC0b&#`
ij`)5C#&xYgmLwR{Qn{yHhZF(u0hoSQQ!jm1MDt55-=_4R%?|{&Al^U!uxV}fiqL&6UfRtO_1ShKa)3+#xLeUq!Nrp-m^GNN
rdFbF(QA?SO$aY<;}A(qShBBM1-fX{!p1vGI&r7k7CIy07M*BHjFq}=yBH_xFj3QzaUXN7C#6cO9ixr5!d01_mhs~`tI$al8
NZ~5#V8W->@d?&-A$>M?MGI+G!bLb4Cr&Ox9C3xQtpqPkbpO1#Sd?i?=aFUbwxP+n+ou_v&w2?YQy#TvK{sb8^l-`D#JuJ%}
modu9KEP|4an9ki2C+KqfOya|kMn{Q9M_{SJD-d4%mIxv||;;`_s5Kz?oFx)|V5{&u3b+?U!$!)Uci)9mIJ2S9!-O!@HvK|e
FQc7yG-f9)v~K%Kjl*7j|RRYViJRQ2N!(}zk4^$>EeN>c8v)TZgHIHbSV`nEid*AnNk`xzE``zvAi+<jiBt4Zt|ELt8SsMjb
j3?HDlc~CbMhrn*(EpZC~5oOA8SK~6tuhb=!RZQVg=p#v5O4SUSaIl4-G6CKVP%JA6Err_wvFk#Zd_aZ~RUzh?G+{O&nvOw-
-wfiWspvz5eqAGO9x3(Gcy*^${Ymh%zNc}^#;&oj)qDKAeeJ-Hg`2EeIfXeto2+R{oX32)5<YGQhqpr%CXKM3&iig~!)$*`Z
;`12Rvuu12F>RsZx5K8p-^%6750Zv5ts*I9tORcz6|l^tR$nEc*TdLA#{{LlwW5Xntt)Oa##ZxawoHQyh!(UaX<h1Q8S4R|9
`IRIBYTTw-{5z@6uFdnb7Ab*q#X!wrEo82t9}m*@)eWy7*NG1I8{NosvZ5TZy&j>eD72wG4)sqBna8`cySwAPn@)bCqO2?2F
ziXaTXui|*rJtd%$XIhNjWtd~3Z;fO6i4k2ufa>yC6ZASJLn|?zr^4EUBEdO4+-OY<b!GVYPZhSc^OO~)(rQdi@#iq4$kPh&
9Q9Rm;Y~M?oBb~&)8^7wy6D=@|0X7oF!j4X>S-;~gL<p+28IRW91jC(X?a@~8&Ef~xS-YQKz&|PaX6%6W(|uEBLXDu0uX=aH
Wgo{;>Upe+mq$6Bo4xjT2kxvdh?(}%8K=)Y8U$DBemJ3<&w;*Oem!UlDc!0~p5#^aJTfEbeuYKlX$j|oCowvM0}z#6R6<8C*
l6>X$fG7j4vHGfT9>l<0_5r-+%;M#%dcSJ$Ec<D53(p}<wBr?ZLCiwd_sKd^)H@A<<xU#W7Bkj#@JbU7Q4!CQ_-(ta{-fev@
qP4O_&lLUFdGjHx|bysbXW!F&Yh2cC;fxQN<cHNZmB-G!}Iq%Y{*G1v!rQDML{LZ98TnfT8vO!d>}`2EI2I&xYYO$$7M)R-j
XMWp*JAK!-;5Gq1G^gi(`x$>8qoOJ9O4vBCHlhkBA%SJfm+=EN2CMV+C|F?_|osCVw><ggUs?ui9;A-}w~L`oy>5VR?&*=Gj
OJcLaURjjvLtt$`*{x@ZY7Xm#^_$H^krrOHNfUD=`-gA*+2rh?jd&3DCJJUlqx3JbXpnw+fUk5^9$KdG#jf9VK0*@^x?K{p9
up|%wK)8<^<rA1)tbwJ86UK@MeDx+VWfqwWvTcI)R%c?KigR)`=w;6Sx`K?|(TwH97TEv!+NS3Op{UxZf3#fFU3fzC20)QnN
}d^I6v0jcvS2fwiaDCl&XIQz-GyRESyM^Eu7DMQWgII>MZ9z_r?jZTfvOr`d46!aB|d%XXUxaFT8Ck7qt?(FI1efw-lFgqc^
O5#z)tDZ;#5=6gaQ6=vGSI`6a^wBhUQaOpSTYh^OQ?lHZz)&Wx#7>mOn)#H_<4nT6B6C<g!}#S)zjW4}{g4rBKwqXhPnC52A
@J%I$%6!XZ6q6yNz--(00JTZAtb@gU>9B_)1a@$v9wQv>hKlq4K-gzn134q)hh47dv6BNP{xP4hGwEcFQBM-OC_2GCbH<F4O
Oz<Y|$^3lyV0GCK)p}}r#{BV63YEu-ayeHH+fe!N{euXLBc~-RDg|=Dk21nKo*pOq1?ySsR9fSuSwIBIe-CeQN;z`|t8Q6uv
u{sRGkGmk9O<2PsLbT_@1UOrp`{$gpoFXWL7O@XY2mww#7s3`Aa;Nj^0m%cOjc`v3#?BN*sI+Q-i-kqfINkUduR!{Xk_pf{1
&CIsUC;3`L43Qev|{7BqJp90CH*a~6^(>NE^KDCh{TKh8{b`l)Ey9>^@efcU%Y^44pn^JpxB69<VQ2wb;J8qm7HH+s~QqNKr
oKd`KuZSsc-ZG4ZXs=ZZxe;_6^Nx{eo&G@;_9w><xN5?;>lOjs7BN>hkYLy<b8U#&8F+<Mk=GL^Q@ltD>R{9Av&E`+c5FdDd
?Wld`yLOa$xP^N$dQX*tP#>D)A-HcMtGnf%rxANiR+tZ4=#$W1{pLrO_NM<q(Hm;Tpdoj?PNhOA%gWuKY|#)YxM^AT--l%nm
Rg8Ro!N+TYsN4<?g1C32`#!p<=BttyA+0Ze0xgsriows>~9O`u3jR?_OLp*9+FYL&wKb#kEp&x}CKJ-w?5I(34snRjUaC((h
6S*l{aB?0DreZPpja2eR19aL<mwVVT)-Wv<Lh>%!6Y-OyX;tUcrV#`Cb+@NmC{l8`D5xM=*pjLGmpNreUBFaw1#gD-?Sv;iv
olLtR>b%JSP-Xnt8|sy&`vIoZ_B0zQhRbPp*F5q5Rf@c7u&AIj|rF!Nf!94tOK}x@nz~wV}HMLnoY0cSuIxnA6uQ4EqGP%KC
$z-`Hd@$bJIkr=~XGEJ!BMqM|%hoKq<LOFZnTppYX;sCrQuL?a!dY=eVoQKxPj8tsucaC&~kAn1~@B)9A{9cb353%`>h=s%w
ey-{Uty&G|%e@kKv0RrhE%B(aJI`)D~T=MS<%`>(V;u1J>_WfGFTVll11<0o;CY7Wt@)Q1Pvb!%r$QRvc7GRu(`YW_&pd;_n
KPQ1DC%1oF<U{Nou60>tYAgDu72GC3FU^4+rqWQ6c>t^eftV@m9b(zV!b<KgyuedsYNyH{JTp6@Z{@ZeA2P4$;waN{b3YgbC
wPW?aC`aIRYPy-`x+Mv|V<M7$(ZK%=jNC;T;>CZ!6mD#`hE9U1lhXkKfWT|YWM(|PXz?}Me&YuvmH>dkrT%GCxR^G)%rOjh)
dU+}l`7WPZe9YeSVH!YXbfnFt=Uom$W=blyO8mf*t4ki+Bz@)Oqq?~hsk~4R2%@)(%?8<afNNX)3JL}%?#3#g0JEQnYODMHI
Q1vh7=ty#&n`vnhE41XAjY1opG3Yj<LAT3|+dFcpvrWUF1>&=-dk>0)b&tflpC<QG{T|qE1g3_cI5}aT>TD8}ZYnaQZU!!0x
Ny5~@`iw7q4L^Ee5ImgpX8_);-j1&3Y?RvHL-8F%u8I&(GrTw8WZrEfl<L-igcb-|E3m2)Q5SA%;g!Id3*j-yCy&%5b4z~YB
05lY?nhzi3e>rw#;qTp3@3il>q2F4tVqAET)XJckHms6<<R^Hib`0&JiMZ+rjH2#$WUrjsr5PBoC{ScL)T&JG(ji3z6kg`Ud
UlpM{0o4KamOPErD{(USX#qFO*X8x=a26C#3cFKHrQjUV5aD->(PAV++?(4~BwKxksnm@JIc@CeSY^?CH~Sn`+BgG-l&<5#I
P^&iLaMI%>X0RSDzwZ>UD_l(+n5bFl8HkJSeaeUjca^A_}{5mB*&DMv(RD85lNoYpuj1}mn)k$YyyXxUNoei`{kvM38(mvtU
%P9W8(o0cKU)Ev3gjpmqu}X19+|%+%3@f?nq>FOwGv7+eio%Qn`BIxFV6{8~9$YsDqJ3=^KuQb)=+N!MDch0>V5gaAGlcJiY
4Lx3vCtof9^zVTtQT{x&(in2&-Z;NEu~fPGl}FZ=0_xI+t5U7R+QGM(mlB}}SRU8{T!D&~bicdU@S%3eoX5v_U@Q%-PKh8dz
;IO~i<^Qz9^M{Ep&?r~u#Fv^&&DjOuZA6~*1V}{k;8KkGs4U`TNf&X1nnYS`D6(e=3kW5M}OB92w)gU8=*%)wdM6U6e*esNP
75`%db~fKYInnTDFqp84JNiYmjD-#(*KocTiJJAE!t#li&tgzSJwPg5Li5o`2dY{bBtj4n>|_*b{)=Ip-BkN>m^3tN?*Tn@#
zg%^0yPb|jd?^Popj=CB%!>CQ*ex7GB%B-my1#N37$d2=Gj8;?Zo63q>hm!vwHCO<Tg_n$2R((a#^nhOX)mx2Ft1SI*6jPHy
=raDUOgDm|@BbhkDnAlw}=A*f{{eKN-o00IqkM65gDtpJnG#swk(uvWi`OZO;vyOpohbuzUuFRoHQ?n0%CJ6|!^j9=`V{CCJ
?*g(+7ntVej@a*ftYgbF_OAMa!aqSpew@UJr_oQbxe7@CG^dTzwDa<1GlnGB{yaU6L^4sz)niP|l=Q?IAr{q@0LJ^%BwmLnX
bd|(BFF-<y`t>7XeW!pAYa3WU&jf5L69m_Ud8zZ=~o3`fCrEbYHt!gX!?80K}fc%iKWG+Bk^5Z)YHn=2h>jiL&jt;p9G&X{X
KCDg&VIV|ekK|T03&EvsW~1dTlu$2a$0DZoM*F7kHGE@w3`rf6<>CF@MeA{gkiiibvt}!yW3$C>#IR;6U<_C5jLN@}*k{ORc
nZDaOS?I;zx5j*;!xew8Hj+=cwCCeOz~al9mzVHq~EB*5N7JuqV{=58^|cai|PqRtPR<s<LE9$tjQQ;Q5ELv_~hcZE#0g#yF
U^CNUTym+GuXAF!``5Pn(5XHAD7COIsqt!&B=BLV;%IIU2J1D@@C9NM0=*GodQ(c-tC)$KFC4!(#ca-B}0)yog=ATF1ap_*_
rsPgt-ZG0m@zQ%X!p{$@VYLL!;`Nf!DO`Ia1Udi-rF7VUP^@?_w-%EWFBpw8p$Y8J?&ZQ7-FaE&}^_&}HC_>Axg6D>62d1D6
+rz<0ShV{AyemDQKBw6KG@m#SUm6^8IvJ267ya>YTNB)&M=vF>bNclQ1+u(tNkon$ydx$`pZVss|eD?Mxn4XVo(Z?6VPuk;m
;GbbWUUvU+3lN?_SnpwX_g$f)qmJt@hOVQXEWKuR|CU6fI6j&><Srru?DFo=8!`PwDs;xMli2j+K}PcbZFPuWOn~3z*{<eA$
swKWh5S)@E_oK+Iq+fO^b*He>x%6<vf;gACE2ojz=jMELHK_k%%B_mRDl4}Ge=>)x*P$f_lL)<g7fUOP+A7%q5+`{QfNMxc<
~z8S6GL#pxQ#Z00;dxQL3pa&jkcr3qQ`3g9t5c2C+o~=W5&;k#^qL8aV{I$`lw0>QwB^AzKnP+B7oguvW$WpEB0b@}-|_I72
ll$LBuN&lR^5$hp5J&@@R%OnOzQD2^EuVef*dyN4=6Kb9Tl?jfZd?T{;;Hkth&Dt5+8<pyLCX7NOJ7%m{;nP_N%3RP^?ftRf
5Zryq)J{uvbs^eI&UQ!=xGcZ21RBo#WQWO6P(4Tvnw1qi2?Cs;g>6ALHUsVI7R5KNCIP2Iv7l|d`K8sjF)1KZPKS@Z=U8(dW
Z}H0j<A}3K)E%C}3nFR}y(esR-I*#=!Nv1)8^-MbM`?pATK&16Nkfe|=^P&p7(6~!-@pTiv6O$&LA$@>$2iA@FXBoiZSmwqC
O5n1yu@z)dSItIYfd_tsMh*8Zni>(6V)my$K9|3u-_uATdO%ntN^~#2?1YaG+ZHNNY&(NpUIq4-9Q-Mak1;viw|Lh-jQHIh5
6K$%g)t~cB@4XQv|u%2D#F=B8(RcCAd|dEJDYZE3O6%2)YCBo22f7>?vmoJ=MOU6NX?;u<5D&krweF*qQ05hI<KUB|ZvXg=#
N)Ad&8o)4QOzS`)2ILrs2e7Miv!Xi{GY%knCKbZ|T!r5paUK@sOGEU3HxO;m12X&(Y+JU8r<Q$q!isJEm_phKNwVOI3S%uYm
lLz}nyIDP>f-+YpMx%wmhm<(~x1r`;s!Xm2B;(HuYuUh~B00000EpV#kS%(<200Gr6^|BTKsF=;EvBYQl0ssI200dcD
"""
