"""Who may do what on NATS: one identity per component, each allowed exactly the subjects its
component uses. This table is the rule; the NATS server configuration is generated from it and
docs/architecture.md shows it (a test keeps the two in step).

Request subjects are served with `allow_responses`, so a service answers whoever asked without
a general right to publish. Every identity reads replies only on its own inbox prefix."""

from dataclasses import dataclass, field

from . import subjects as s

GATEWAY = "gateway"
EVENTS = "events"
COMPONENTS = (s.SERVICE_AUTH, s.SERVICE_TEAMS, s.SERVICE_PROVISIONER, s.SERVICE_TERMINAL, GATEWAY)
ALL_IDENTITIES = (*COMPONENTS, EVENTS)

JS_API = "$JS.API"


def inbox_prefix(identity: str) -> str:
    """Replies to an identity's requests arrive under this prefix, which only it may read."""
    return f"_INBOX_{identity}"


def _stream_admin(stream: str) -> list[str]:
    return [f"{JS_API}.STREAM.{verb}.{stream}" for verb in ("CREATE", "UPDATE", "INFO")]


def _consumer_use(stream: str) -> list[str]:
    """Create, look up and pull from consumers of `stream`, and acknowledge their messages."""
    return [
        f"{JS_API}.CONSUMER.CREATE.{stream}",
        f"{JS_API}.CONSUMER.CREATE.{stream}.>",
        f"{JS_API}.CONSUMER.DURABLE.CREATE.{stream}.*",
        f"{JS_API}.CONSUMER.INFO.{stream}.*",
        f"{JS_API}.CONSUMER.MSG.NEXT.{stream}.*",
        f"$JS.ACK.{stream}.>",
        f"$JS.FC.{stream}.>",
    ]


def _key_value_owner(bucket: str) -> list[str]:
    """Create and use the key-value bucket `bucket` (a stream named KV_<bucket>), and change
    its replica count."""
    stream = f"KV_{bucket}"
    return [
        f"{JS_API}.STREAM.CREATE.{stream}",
        f"{JS_API}.STREAM.UPDATE.{stream}",
        f"{JS_API}.STREAM.INFO.{stream}",
        f"{JS_API}.STREAM.MSG.GET.{stream}",
        f"{JS_API}.DIRECT.GET.{stream}",
        f"{JS_API}.DIRECT.GET.{stream}.>",
        f"$KV.{bucket}.>",
    ]


def _micro_service(name: str) -> list[str]:
    """The discovery subjects a nats.micro service listens on."""
    return ["$SRV.*", f"$SRV.*.{name}", f"$SRV.*.{name}.*"]


@dataclass(frozen=True)
class Permissions:
    publish: list[str]
    subscribe: list[str]
    # May answer requests it receives (services), without a general right to publish there.
    serves: bool = False
    notes: str = ""
    jetstream: list[str] = field(default_factory=list)


SIGNUPS_CONSUMER = "teams-redeem"
# The durable work consumer of the provisioner before Docker hosts had ids of their own.
LEGACY_WORK_CONSUMER = "provisioner"

PERMISSIONS: dict[str, Permissions] = {
    s.SERVICE_AUTH: Permissions(
        publish=[s.AUTH_JWKS, s.AUTH_TOKEN_REVOKED, f"{s.SIGNUPS_PREFIX}.>"],
        subscribe=["auth.*", "auth.users.*", "auth.tokens.*", *_micro_service(s.SERVICE_AUTH)],
        serves=True,
        jetstream=[*_stream_admin(s.EVENTS_STREAM), *_stream_admin(s.SIGNUPS_STREAM)],
        notes="owns PYK8S_EVENTS and PYK8S_SIGNUPS; the only one that serves auth.jwks",
    ),
    s.SERVICE_TEAMS: Permissions(
        publish=[
            s.AUTH_JWKS,
            s.AUTH_USERS_LOOKUP,
            s.AUTH_USERS_GET_MANY,
            s.PROVISIONER_TEAM_COUNT,
            s.event_subject("team", ">"),
        ],
        subscribe=["teams.*", "teams.members.*", "teams.invitations.*", *_micro_service("teams")],
        serves=True,
        jetstream=[
            f"{JS_API}.CONSUMER.CREATE.{s.SIGNUPS_STREAM}.{SIGNUPS_CONSUMER}",
            f"{JS_API}.CONSUMER.INFO.{s.SIGNUPS_STREAM}.{SIGNUPS_CONSUMER}",
            f"{JS_API}.CONSUMER.MSG.NEXT.{s.SIGNUPS_STREAM}.{SIGNUPS_CONSUMER}",
            f"$JS.ACK.{s.SIGNUPS_STREAM}.{SIGNUPS_CONSUMER}.>",
        ],
        notes="redeems sign-up invitations from PYK8S_SIGNUPS",
    ),
    s.SERVICE_PROVISIONER: Permissions(
        publish=[
            s.AUTH_JWKS,
            s.TEAMS_MEMBERSHIP,
            s.TEAMS_ROLES,
            s.event_subject("cluster", ">"),
            s.WORK_PROVISIONER_ALL,
            # The replica that took `provisioner.cluster.node` asks the cluster's host.
            f"{s.HOST_NODE_PREFIX}.*",
        ],
        subscribe=[
            "provisioner.cluster.*",
            "provisioner.team.*",
            "provisioner.host.*",
            "provisioner.providers.*",
            f"{s.HOST_NODE_PREFIX}.*",
            *_micro_service("provisioner"),
        ],
        serves=True,
        jetstream=[
            *_stream_admin(s.WORK_STREAM),
            f"{JS_API}.CONSUMER.UPDATE.{s.WORK_STREAM}.>",
            *_consumer_use(s.WORK_STREAM),
            # The single-host layout's consumer, removed once: its filter overlaps the hosts'.
            f"{JS_API}.CONSUMER.DELETE.{s.WORK_STREAM}.{LEGACY_WORK_CONSUMER}",
            *_key_value_owner(s.HOSTS_BUCKET),
        ],
        notes="owns PYK8S_WORK, nobody else touches it, and the hosts bucket",
    ),
    s.SERVICE_TERMINAL: Permissions(
        publish=[
            s.AUTH_JWKS,
            s.PROVISIONER_CLUSTER_ACCESS,
            s.PROVISIONER_CLUSTER_NODE,
            s.event_subject("terminal", ">"),
            s.TERMINAL_SESSIONS_OUT,
            # A starting replica probes the sessions of its peers: who still serves them.
            s.TERMINAL_SESSIONS_IN,
        ],
        subscribe=[
            s.TERMINAL_TICKET_CREATE,
            s.TERMINAL_SESSION_OPEN,
            s.TERMINAL_SESSIONS_IN,
            s.EVENTS_ALL,
            *_micro_service("terminal"),
        ],
        serves=True,
        notes="reads live events to end sessions of deleted clusters and lost rights",
    ),
    GATEWAY: Permissions(
        publish=[
            *s.GATEWAY_REQUESTS,
            s.TERMINAL_SESSIONS_IN,
            "$SRV.PING.*",
        ],
        subscribe=[s.AUTH_TOKEN_REVOKED, s.TERMINAL_SESSIONS_OUT],
        jetstream=[
            f"{JS_API}.CONSUMER.CREATE.{s.EVENTS_STREAM}",
            f"{JS_API}.CONSUMER.CREATE.{s.EVENTS_STREAM}.>",
            f"{JS_API}.CONSUMER.DELETE.{s.EVENTS_STREAM}.*",
            f"{JS_API}.CONSUMER.INFO.{s.EVENTS_STREAM}.*",
            f"{JS_API}.STREAM.INFO.{s.EVENTS_STREAM}",
            f"$JS.FC.{s.EVENTS_STREAM}.>",
            *_key_value_owner(s.STREAM_TICKETS_BUCKET),
        ],
        notes="the only caller of user-facing requests; reads events for the live stream; "
        "owns the stream-ticket bucket",
    ),
    EVENTS: Permissions(
        publish=[],
        subscribe=[],
        jetstream=[f"{JS_API}.STREAM.INFO.{s.EVENTS_STREAM}", *_consumer_use(s.EVENTS_STREAM)],
        notes="outside programs: their own durable consumers on PYK8S_EVENTS, nothing else",
    ),
}
