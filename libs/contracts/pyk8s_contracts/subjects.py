"""NATS subject names. Requests are `<service>.<verb>`; events are
`pyk8s.events.<entity>.<verb-ed>` on the EVENTS stream."""

# auth
AUTH_SIGNUP = "auth.signup"
AUTH_LOGIN = "auth.login"
AUTH_REFRESH = "auth.refresh"
AUTH_LOGOUT = "auth.logout"
AUTH_ME = "auth.me"
AUTH_JWKS = "auth.jwks"
AUTH_USERS_LOOKUP = "auth.users.lookup"
AUTH_USERS_GET_MANY = "auth.users.get_many"
AUTH_TOKENS_CREATE = "auth.tokens.create"
AUTH_TOKENS_LIST = "auth.tokens.list"
AUTH_TOKENS_REVOKE = "auth.tokens.revoke"
AUTH_TOKENS_RESOLVE = "auth.tokens.resolve"
# Broadcast (no queue group): every gateway replica drops its cached API token.
AUTH_TOKEN_REVOKED = "auth.broadcast.token_revoked"

# teams
TEAMS_CREATE = "teams.create"
TEAMS_LIST = "teams.list"
TEAMS_GET = "teams.get"
TEAMS_UPDATE = "teams.update"
TEAMS_DELETE = "teams.delete"
TEAMS_MEMBERSHIP = "teams.membership"
# A user's roles in many teams at once (list checks): one round trip instead of one per team.
TEAMS_ROLES = "teams.roles"
TEAMS_MEMBERS_LIST = "teams.members.list"
TEAMS_MEMBERS_SET_ROLE = "teams.members.set_role"
TEAMS_MEMBERS_REMOVE = "teams.members.remove"
TEAMS_INVITATIONS_CREATE = "teams.invitations.create"
TEAMS_INVITATIONS_LIST = "teams.invitations.list"
TEAMS_INVITATIONS_REVOKE = "teams.invitations.revoke"
TEAMS_INVITATIONS_MINE = "teams.invitations.mine"
TEAMS_INVITATIONS_ACCEPT = "teams.invitations.accept"
TEAMS_INVITATIONS_DECLINE = "teams.invitations.decline"
TEAMS_INVITATIONS_CHECK = "teams.invitations.check"

# provisioner
PROVISIONER_CLUSTER_CREATE = "provisioner.cluster.create"
PROVISIONER_CLUSTER_LIST = "provisioner.cluster.list"
PROVISIONER_CLUSTER_GET = "provisioner.cluster.get"
PROVISIONER_CLUSTER_DELETE = "provisioner.cluster.delete"
PROVISIONER_CLUSTER_EXTEND = "provisioner.cluster.extend"
PROVISIONER_CLUSTER_KUBECONFIG = "provisioner.cluster.kubeconfig"
# The raw admin kubeconfig, for team owners and admins (break-glass), audited.
PROVISIONER_CLUSTER_ADMIN_KUBECONFIG = "provisioner.cluster.admin_kubeconfig"
# The Kubernetes API proxy's per-request check: upstream, credential, identity to impersonate.
PROVISIONER_CLUSTER_PROXY = "provisioner.cluster.proxy"
PROVISIONER_CLUSTER_NODE = "provisioner.cluster.node"
# Peers ask whether a user may act on a cluster: the cluster rules live in the provisioner only.
PROVISIONER_CLUSTER_ACCESS = "provisioner.cluster.access"
PROVISIONER_TEAM_COUNT = "provisioner.team.count"
# The pool of Docker hosts, for platform admins.
PROVISIONER_HOST_LIST = "provisioner.host.list"
PROVISIONER_HOST_DRAIN = "provisioner.host.drain"
PROVISIONER_HOST_UNDRAIN = "provisioner.host.undrain"
# What each provider offers: available or why not, CLI and Kubernetes versions.
PROVISIONER_PROVIDERS_LIST = "provisioner.providers.list"
# What only the processes of one Docker host can do, asked by the replica that took the
# request: `provisioner.node.<host>` makes a ready cluster's terminal container there.
HOST_NODE_PREFIX = "provisioner.node"
# Work queued on the WORK stream, per Docker host: `pyk8s.work.provisioner.<host>.<action>`,
# taken by the durable pull consumer of that host's provisioner workers only.
WORK_PROVISIONER_PREFIX = "pyk8s.work.provisioner"
WORK_PROVISIONER_ALL = "pyk8s.work.provisioner.>"
CLUSTER_EVENTS_ALL = "pyk8s.events.cluster.>"
# Team events that concern one person (`data.user_id`): invitations to them, their role
# changed, their removal. The gateway's live stream sends each to that person only.
TEAM_INVITATION_EVENTS = "pyk8s.events.team.invitation.>"
TEAM_MEMBER_EVENTS = "pyk8s.events.team.member.>"

# terminal
TERMINAL_TICKET_CREATE = "terminal.ticket.create"
TERMINAL_SESSION_OPEN = "terminal.session.open"
# A session's bytes: `in` from the gateway to the terminal, `out` back (see terminal.py).
TERMINAL_SESSIONS_IN = "terminal.session.*.in"
TERMINAL_SESSIONS_OUT = "terminal.session.*.out"

# JetStream
EVENTS_STREAM = "PYK8S_EVENTS"
EVENTS_PREFIX = "pyk8s.events"
EVENTS_ALL = "pyk8s.events.>"
WORK_STREAM = "PYK8S_WORK"
WORK_PREFIX = "pyk8s.work"
# Accounts just created with an invitation token, for the teams service to redeem. Kept off
# the events stream: the token is a secret and outside programs read every event.
SIGNUPS_STREAM = "PYK8S_SIGNUPS"
SIGNUPS_PREFIX = "pyk8s.signups"
SIGNUP_INVITED = "pyk8s.signups.invited"
# The gateway's key-value bucket of event stream tickets (its stream is KV_<bucket>).
STREAM_TICKETS_BUCKET = "PYK8S_STREAM_TICKETS"
# The provisioner's key-value bucket of Docker host announcements (stream KV_PYK8S_HOSTS):
# one key per host, gone when the host stops announcing itself.
HOSTS_BUCKET = "PYK8S_HOSTS"


def event_subject(entity: str, verb: str) -> str:
    return f"{EVENTS_PREFIX}.{entity}.{verb}"


def work_subject(host_id: str, action: str) -> str:
    """Work for one Docker host's provisioner workers (`action`: create, delete)."""
    return f"{WORK_PROVISIONER_PREFIX}.{host_id}.{action}"


def host_node(host_id: str) -> str:
    return f"{HOST_NODE_PREFIX}.{host_id}"


def host_work(host_id: str) -> str:
    return f"{WORK_PROVISIONER_PREFIX}.{host_id}.>"


# Service names, used as nats.micro service names and queue groups.
SERVICE_AUTH = "auth"
SERVICE_TEAMS = "teams"
SERVICE_PROVISIONER = "provisioner"
SERVICE_TERMINAL = "terminal"
ALL_SERVICES = (SERVICE_AUTH, SERVICE_TEAMS, SERVICE_PROVISIONER, SERVICE_TERMINAL)


# What the gateway asks on behalf of the people it serves; no other identity may.
GATEWAY_REQUESTS = (
    AUTH_SIGNUP,
    AUTH_LOGIN,
    AUTH_REFRESH,
    AUTH_LOGOUT,
    AUTH_ME,
    AUTH_JWKS,
    AUTH_TOKENS_CREATE,
    AUTH_TOKENS_LIST,
    AUTH_TOKENS_REVOKE,
    AUTH_TOKENS_RESOLVE,
    TEAMS_CREATE,
    TEAMS_LIST,
    TEAMS_GET,
    TEAMS_UPDATE,
    TEAMS_DELETE,
    TEAMS_MEMBERSHIP,
    TEAMS_MEMBERS_LIST,
    TEAMS_MEMBERS_SET_ROLE,
    TEAMS_MEMBERS_REMOVE,
    TEAMS_INVITATIONS_CREATE,
    TEAMS_INVITATIONS_LIST,
    TEAMS_INVITATIONS_REVOKE,
    TEAMS_INVITATIONS_MINE,
    TEAMS_INVITATIONS_ACCEPT,
    TEAMS_INVITATIONS_DECLINE,
    TEAMS_INVITATIONS_CHECK,
    PROVISIONER_CLUSTER_CREATE,
    PROVISIONER_CLUSTER_LIST,
    PROVISIONER_CLUSTER_GET,
    PROVISIONER_CLUSTER_DELETE,
    PROVISIONER_CLUSTER_EXTEND,
    PROVISIONER_CLUSTER_KUBECONFIG,
    PROVISIONER_CLUSTER_ADMIN_KUBECONFIG,
    PROVISIONER_CLUSTER_PROXY,
    PROVISIONER_HOST_LIST,
    PROVISIONER_HOST_DRAIN,
    PROVISIONER_HOST_UNDRAIN,
    PROVISIONER_PROVIDERS_LIST,
    TERMINAL_TICKET_CREATE,
    TERMINAL_SESSION_OPEN,
)
