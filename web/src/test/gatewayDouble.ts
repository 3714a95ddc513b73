// A test double of the gateway's HTTP API (msw handlers over in-memory state). Its routes,
// request bodies, success statuses and response bodies are typed from the generated OpenAPI
// schema, so a route or shape that drifts from the gateway fails to compile. Its role rules
// are the table of rights the services apply (rbac.json through ../permissions): 404 for
// non-members, 403 where the table does not allow the caller's role.
import { http, HttpResponse, type JsonBodyType } from "msw";
import type { paths } from "../api/schema";
import type { Cluster, ClusterStatus, Host, Invitation, Kubeconfig, ProviderInfo, Role, User } from "../api/types";
import { allows, clusterRights, teamRights, type ClusterAction, type TeamAction } from "../permissions";

const PUBLIC_URL = "http://localhost:3000";
/** The gateway's page sizes (pyk8s_contracts.common). */
const DEFAULT_PAGE_LIMIT = 50;
const MAX_PAGE_LIMIT = 200;
const BASE = `${PUBLIC_URL}/api/v1`;

type Api = { [P in keyof paths as P extends `/api/v1${infer Rest}` ? Rest : never]: paths[P] };
type Method = "get" | "post" | "patch" | "delete";
type MethodOf<P extends keyof Api> = { [M in Method]: [NonNullable<Api[P][M]>] extends [never] ? never : M }[Method];
type Operation<P extends keyof Api, M extends Method> = NonNullable<Api[P][M]>;
type Responses<O> = O extends { responses: infer R } ? R : never;
type SuccessStatus<O> = Extract<keyof Responses<O>, 200 | 201 | 202 | 204>;
type JsonOf<T> = T extends { content: { "application/json": infer B } } ? B : void;
type RequestBody<O> = O extends { requestBody?: { content: { "application/json": infer B } } } ? B : undefined;
type PathParams<O> = O extends { parameters: { path: infer T } } ? T : Record<string, never>;

interface Context<O> {
  request: Request;
  url: URL;
  params: PathParams<O>;
  body: RequestBody<O>;
}

interface Account extends User {
  password: string;
}

interface TeamRow {
  id: string;
  name: string;
  display_name: string;
  created_at: string;
  members: Map<string, { role: Role; joined_at: string }>;
}

/** What the gateway adds to a problem: the field a refusal is about, a validation error's list. */
interface ProblemExtra {
  field?: string;
  errors?: { loc: (string | number)[]; msg: string; type: string }[];
}

class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    readonly extra: ProblemExtra = {},
  ) {
    super(detail);
  }
}

/** The gateway's 422 for a body field that does not match its pattern. */
function patternMismatch(field: string): ProblemError {
  return new ProblemError(422, "validation_error", "request validation failed", {
    errors: [{ loc: ["body", field], msg: "String should match pattern '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'", type: "string_pattern_mismatch" }],
  });
}

function problem(status: number, code: string, detail: string, path: string, extra: ProblemExtra = {}) {
  return HttpResponse.json(
    { type: "about:blank", title: "Error", status, code, detail, instance: path, ...extra },
    { status, headers: { "Content-Type": "application/problem+json" } },
  );
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** As the gateway makes it: through its Kubernetes API proxy, tokens from the CLI's exec
 * plugin, no secret inside. */
function execKubeconfig(cluster: Cluster): string {
  const name = `pyk8s-${cluster.name}`;
  return [
    "apiVersion: v1",
    "kind: Config",
    `current-context: ${name}`,
    "clusters:",
    `- name: ${name}`,
    `  cluster: {server: "${PUBLIC_URL}/k8s/clusters/${cluster.id}"}`,
    "users:",
    `- name: ${name}`,
    "  user:",
    "    exec:",
    "      apiVersion: client.authentication.k8s.io/v1",
    "      command: pyk8s",
    `      args: [--server, "${PUBLIC_URL}", kube-credential, --cluster, "${cluster.id}"]`,
    "      interactiveMode: Never",
    "contexts:",
    `- name: ${name}`,
    `  context: {cluster: ${name}, user: ${name}}`,
    "",
  ].join("\n");
}

const ADMIN_KUBECONFIG = [
  "apiVersion: v1",
  "kind: Config",
  "current-context: kind-dev",
  "clusters:",
  "- name: kind-dev",
  "  cluster: {server: https://127.0.0.1:6443, certificate-authority-data: Q0E=}",
  "users:",
  "- name: kind-dev",
  "  user: {client-certificate-data: Q0VSVA==, client-key-data: S0VZ}",
  "contexts:",
  "- name: kind-dev",
  "  context: {cluster: kind-dev, user: kind-dev}",
  "",
].join("\n");
let counter = 0;
const newId = () => `00000000-0000-4000-8000-${String(++counter).padStart(12, "0")}`;
const now = () => new Date().toISOString();

export class GatewayDouble {
  users = new Map<string, Account>();
  teams = new Map<string, TeamRow>();
  invitations = new Map<string, Invitation>();
  clusters = new Map<string, Cluster>();
  hosts = new Map<string, Host>();
  /** Users whose access tokens carry the platform admin claim. */
  platformAdmins = new Set<string>();
  private accessTokens = new Map<string, string>();
  private refreshTokens = new Map<string, string>();
  /** Open event streams, each with the user it is for. */
  private streams = new Map<ReadableStreamDefaultController<Uint8Array>, string>();
  private streamTickets = new Map<string, string>();
  private sequence = 0;
  /** The URL of every request for the event stream, in order. */
  streamUrls: URL[] = [];
  private invitationTokens = new Map<string, string>();
  /** Terminal tickets handed out, in order. */
  tickets: string[] = [];
  /** The clusters whose admin kubeconfig was handed out, in order: the gateway audits these. */
  adminKubeconfigReads: string[] = [];
  /** What each provider offers, as the provisioner would say; tests change it. */
  providers: ProviderInfo[] = [
    { provider: "kind", available: true, cli_version: "v0.30.0", versions: ["v1.34.0", "v1.33.1"], default_version: "v1.34.0" },
    { provider: "k3d", available: true, cli_version: "v5.8.3", versions: ["v1.31.5"], default_version: "v1.31.5" },
    { provider: "kwok", available: true, cli_version: "v0.8.0", versions: ["v1.34.4"], default_version: "v1.34.4" },
  ];
  /** Every request seen, as "METHOD /path", for assertions on what was sent. */
  requests: { method: string; path: string; query: Record<string, string>; body: unknown }[] = [];

  // ---- seeding helpers (what other people did before the test) ----
  addUser(username: string, password = "correct horse battery"): Account {
    const user: Account = {
      id: newId(),
      username,
      email: `${username}@example.com`,
      display_name: username,
      created_at: now(),
      password,
    };
    this.users.set(user.id, user);
    return user;
  }

  /** A signed-in session for `user`, as the login endpoint would hand out. */
  sessionFor(user: User): { accessToken: string; refreshToken: string } {
    const pair = this.issueTokens(user.id);
    return { accessToken: pair.access_token, refreshToken: pair.refresh_token };
  }

  addTeam(name: string, members: [User, Role][]): TeamRow {
    const team: TeamRow = { id: newId(), name, display_name: name, created_at: now(), members: new Map() };
    for (const [user, role] of members) team.members.set(user.id, { role, joined_at: now() });
    this.teams.set(team.id, team);
    return team;
  }

  addInvitation(team: TeamRow, invitee: User, role: Role, invitedBy: User): Invitation {
    const invitation: Invitation = {
      id: newId(),
      team_id: team.id,
      team_name: team.name,
      role,
      invitee_id: invitee.id,
      invitee_username: invitee.username,
      email: null,
      invited_by: invitedBy.id,
      invited_by_email: invitedBy.email,
      status: "pending",
      created_at: now(),
      expires_at: new Date(Date.now() + 7 * 24 * 3600 * 1000).toISOString(),
    };
    this.invitations.set(invitation.id, invitation);
    return invitation;
  }

  addCluster(name: string, owner: User, team: TeamRow | null, status: ClusterStatus = "pending"): Cluster {
    const created = Date.now() - 30 * 60 * 1000;
    const cluster: Cluster = {
      id: newId(),
      name,
      team_id: team?.id ?? null,
      owner_id: owner.id,
      provider: "kind",
      kubernetes_version: null,
      workers: 0,
      status,
      status_message: null,
      api_server: status === "ready" ? "https://127.0.0.1:6443" : null,
      endpoint: null,
      created_at: new Date(created).toISOString(),
      ready_at: status === "ready" ? new Date(created + 60000).toISOString() : null,
      expires_at: new Date(created + 4 * 3600 * 1000).toISOString(),
    };
    cluster.endpoint = status === "ready" ? `${PUBLIC_URL}/k8s/clusters/${cluster.id}` : null;
    this.clusters.set(cluster.id, cluster);
    return cluster;
  }

  /** Access tokens stop working, as when they expire; refresh tokens still work. */
  expireAccessTokens(): void {
    this.accessTokens.clear();
  }

  get openStreams(): number {
    return this.streams.size;
  }

  /** Ends every open event stream, as the gateway does when a stream's token expires. */
  endStreams(): void {
    for (const controller of this.streams.keys()) controller.close();
    this.streams.clear();
  }

  /** Changes a cluster and publishes the lifecycle event on every open stream. */
  publishStatus(cluster: Cluster, status: ClusterStatus, message: string | null = null): void {
    const stored = this.clusters.get(cluster.id)!;
    stored.status = status;
    stored.status_message = message;
    if (status === "deleting" || status === "deleted") stored.endpoint = null;
    if (status === "deleted") stored.api_server = null;
    const verb = status === "pending" ? "created" : status;
    this.publish("pyk8s/provisioner", `io.pyk8s.cluster.${verb}`, cluster.id, {
      cluster_id: cluster.id,
      name: cluster.name,
      team_id: cluster.team_id,
      owner: cluster.owner_id,
      provider: cluster.provider,
      status,
      status_message: message,
      expires_at: cluster.expires_at,
      deleted_by: stored.deleted_by ?? null,
    });
  }

  /** A team event that concerns `person` (`io.pyk8s.team.<verb>`), on the streams of that
   * person only, as the gateway sends them. */
  publishPersonal(person: User, verb: string, team: TeamRow, data: Record<string, unknown> = {}): void {
    const event = { team_id: team.id, user_id: person.id, ...data };
    this.publish("/services/teams", `io.pyk8s.team.${verb}`, team.id, event, person.id);
  }

  private publish(source: string, type: string, subject: string, data: Record<string, unknown>, only?: string): void {
    const event = { specversion: "1.0", id: newId(), source, type, time: now(), subject, datacontenttype: "application/json", data };
    const frame = new TextEncoder().encode(`id: ${++this.sequence}\ndata: ${JSON.stringify(event)}\n\n`);
    for (const [controller, userId] of this.streams) if (!only || userId === only) controller.enqueue(frame);
  }

  /** A Docker host as the provisioner lists it, announcing itself unless `reachable` is false. */
  addHost(id: string, fields: Partial<Host> = {}): Host {
    const host: Host = {
      id,
      reachable: true,
      drained: false,
      clusters: 0,
      memory_used_bytes: 0,
      announcement: {
        host_id: id,
        docker_host: `tcp://${id}.example:2376`,
        max_clusters: 20,
        memory_bytes: 16384 * 1024 * 1024,
        providers: [
          { name: "kind", available: true, kubernetes_versions: null },
          { name: "kwok", available: true, kubernetes_versions: ["v1.34.4"] },
          { name: "k3d", available: false, kubernetes_versions: null },
        ],
        clusters: 0,
        announced_at: now(),
      },
      ...fields,
    };
    this.hosts.set(id, host);
    return host;
  }

  // ---- internals ----
  private issueTokens(userId: string) {
    // Shaped like the gateway's JWTs: the web reads the platform admin claim from it.
    const claims = { sub: userId, jti: newId(), ...(this.platformAdmins.has(userId) ? { pyk8s_platform_admin: true } : {}) };
    const access = `e30.${btoa(JSON.stringify(claims)).replace(/=+$/, "")}.double`;
    const refresh = `rt-${newId()}`;
    this.accessTokens.set(access, userId);
    this.refreshTokens.set(refresh, userId);
    return { access_token: access, refresh_token: refresh, token_type: "bearer" as const, expires_in: 900 };
  }

  private caller(request: Request): Account {
    const header = request.headers.get("Authorization") ?? "";
    const token = header.startsWith("Bearer ") ? header.slice(7) : null;
    if (!token) throw new ProblemError(401, "unauthorized", "sign in first: no bearer token");
    const userId = this.accessTokens.get(token);
    if (!userId) throw new ProblemError(401, "invalid_token", "the token is invalid or expired");
    return this.users.get(userId)!;
  }

  /** 404 for anyone outside the team, 403 where the table of rights refuses the role. */
  private teamFor(teamId: string, user: User, action: TeamAction): TeamRow {
    const team = this.teams.get(teamId);
    const membership = team?.members.get(user.id);
    if (!team || !membership) throw new ProblemError(404, "not_found", "team not found");
    const right = teamRights[action];
    if (!allows(right, membership.role)) {
      throw new ProblemError(403, "forbidden", `this needs the ${right.minimum} role or higher in the team`);
    }
    return team;
  }

  private roleIn(teamId: string, user: User): Role | null {
    return this.teams.get(teamId)?.members.get(user.id)?.role ?? null;
  }

  private seesCluster(cluster: Cluster, user: User): boolean {
    if (cluster.team_id === null) return cluster.owner_id === user.id;
    return this.roleIn(cluster.team_id, user) !== null;
  }

  /** As the provisioner decides: a personal cluster is its creator's alone, a team cluster
   * follows the table of rights, with the creator's extra right. */
  private clusterFor(clusterId: string, user: User, action: ClusterAction): Cluster {
    const cluster = this.clusters.get(clusterId);
    if (!cluster || !this.seesCluster(cluster, user)) throw new ProblemError(404, "not_found", "cluster not found");
    if (cluster.team_id === null) return cluster;
    const right = clusterRights[action];
    if (!allows(right, this.roleIn(cluster.team_id, user), cluster.owner_id === user.id)) {
      const creator = right.creator ? " (or to be the cluster's creator)" : "";
      throw new ProblemError(403, "forbidden", `this needs the ${right.minimum} role or higher in the team${creator}`);
    }
    return cluster;
  }

  private requireOwnerRight(team: TeamRow, user: User): void {
    if (!allows(teamRights.manage_owners, team.members.get(user.id)!.role)) {
      throw new ProblemError(403, "forbidden", "only an owner may grant, change or remove the owner role");
    }
  }

  private refuseLastOwner(team: TeamRow, userId: string): void {
    const owners = [...team.members.values()].filter((m) => m.role === "owner").length;
    if (team.members.get(userId)?.role === "owner" && owners === 1) {
      throw new ProblemError(409, "last_owner", "a team keeps at least one owner");
    }
  }

  private teamWithRole(team: TeamRow, user: User) {
    const { members, ...rest } = team;
    return { ...rest, role: members.get(user.id)!.role };
  }

  private member(team: TeamRow, userId: string) {
    const u = this.users.get(userId)!;
    const m = team.members.get(userId)!;
    return { user_id: userId, username: u.username, display_name: u.display_name, role: m.role, joined_at: m.joined_at };
  }

  /** One gateway route: its path, method and success status are the OpenAPI document's, and
   * the handler's body and answer have its types. Refusals are thrown as ProblemError. */
  private route<P extends keyof Api, M extends MethodOf<P>, S extends SuccessStatus<Operation<P, M>>>(
    method: M,
    path: P,
    status: S,
    handle: (ctx: Context<Operation<P, M>>) => JsonOf<Responses<Operation<P, M>>[S]>,
  ) {
    const pattern = `${BASE}${path.replace(/\{(\w+)\}/g, ":$1")}`;
    return http[method](pattern, async ({ request, params }) => {
      const url = new URL(request.url);
      const text = method === "get" ? "" : await request.text();
      const body = (text ? JSON.parse(text) : undefined) as RequestBody<Operation<P, M>>;
      this.requests.push({ method: method.toUpperCase(), path: url.pathname, query: Object.fromEntries(url.searchParams), body });
      try {
        const result = handle({ request, url, params: params as PathParams<Operation<P, M>>, body });
        if (status === 204) return new HttpResponse(null, { status: 204 });
        return HttpResponse.json(result as JsonBodyType, { status: status as number });
      } catch (error) {
        if (error instanceof ProblemError) return problem(error.status, error.code, error.message, url.pathname, error.extra);
        throw error;
      }
    });
  }

  /** One page of a list as the gateway pages it: newest first, then by id; `limit` from 1 to
   * the largest page (422 otherwise); the double's cursor is the index of the page's first item. */
  private page<T>(url: URL, all: T[], key: (item: T) => [string, string]): { items: T[]; next_cursor: string | null } {
    const limit = Number(url.searchParams.get("limit") ?? DEFAULT_PAGE_LIMIT);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
      throw new ProblemError(422, "validation_error", "request validation failed", {
        errors: [{ loc: ["query", "limit"], msg: `Input should be between 1 and ${MAX_PAGE_LIMIT}`, type: "less_than_equal" }],
      });
    }
    const start = Number(url.searchParams.get("cursor") ?? 0);
    const sorted = [...all].sort((a, b) => {
      const [createdA, idA] = key(a);
      const [createdB, idB] = key(b);
      return createdB.localeCompare(createdA) || idB.localeCompare(idA);
    });
    const next = start + limit < sorted.length ? String(start + limit) : null;
    return { items: sorted.slice(start, start + limit), next_cursor: next };
  }

  private answerInvitation(invitationId: string, user: User, answer: "accepted" | "declined"): Invitation {
    const invitation = this.invitations.get(invitationId);
    if (!invitation || invitation.invitee_id !== user.id) throw new ProblemError(404, "not_found", "invitation not found");
    if (invitation.status !== "pending") throw new ProblemError(410, "invitation_invalid", "the invitation was already used");
    invitation.status = answer;
    return invitation;
  }

  handlers() {
    return [
      // auth
      this.route("post", "/auth/signup", 201, ({ body }) => {
        const invited = body.invitation_token ? this.invitations.get(this.invitationTokens.get(body.invitation_token) ?? "") : undefined;
        if (body.invitation_token && (!invited || invited.email !== body.email || invited.status !== "pending")) {
          throw new ProblemError(410, "invitation_invalid", "the invitation token is invalid, used or expired");
        }
        if (!DNS_LABEL.test(body.username) || body.username.length < 2) throw patternMismatch("username");
        const users = [...this.users.values()];
        const taken = users.some((u) => u.username === body.username) ? "username" : users.some((u) => u.email === body.email) ? "email" : null;
        if (taken) throw new ProblemError(409, "conflict", `${taken} is already taken`, { field: taken });
        const user = this.addUser(body.username, body.password);
        user.email = body.email;
        if (invited) {
          invited.status = "accepted";
          this.teams.get(invited.team_id)?.members.set(user.id, { role: invited.role, joined_at: now() });
        }
        const { password: _password, ...publicUser } = user;
        return publicUser;
      }),
      this.route("post", "/auth/login", 200, ({ body }) => {
        const user = [...this.users.values()].find((u) => u.username === body.login || u.email === body.login);
        if (!user || user.password !== body.password) {
          throw new ProblemError(401, "invalid_credentials", "wrong login or password");
        }
        return this.issueTokens(user.id);
      }),
      this.route("post", "/auth/refresh", 200, ({ body }) => {
        const userId = this.refreshTokens.get(body.refresh_token);
        if (!userId) throw new ProblemError(401, "invalid_token", "the refresh token is invalid or expired");
        this.refreshTokens.delete(body.refresh_token);
        return this.issueTokens(userId);
      }),
      this.route("post", "/auth/logout", 204, ({ request }) => {
        this.caller(request);
      }),
      this.route("post", "/auth/access-token", 200, ({ request }) => {
        this.caller(request);
        const token = (request.headers.get("Authorization") ?? "").slice("Bearer ".length);
        // An access token gets itself back; the double hands out no API tokens.
        return { access_token: token, expires_at: new Date(Date.now() + 900 * 1000).toISOString() };
      }),
      this.route("get", "/auth/me", 200, ({ request }) => {
        const { password: _password, ...user } = this.caller(request);
        return user;
      }),

      // teams
      this.route("get", "/teams", 200, ({ request, url }) => {
        const user = this.caller(request);
        const mine = [...this.teams.values()].filter((t) => t.members.has(user.id));
        const { items, next_cursor } = this.page(url, mine, (t) => [t.created_at, t.id]);
        return { teams: items.map((t) => this.teamWithRole(t, user)), next_cursor };
      }),
      this.route("post", "/teams", 201, ({ request, body }) => {
        const user = this.caller(request);
        if (!DNS_LABEL.test(body.name)) throw patternMismatch("name");
        if ([...this.teams.values()].some((t) => t.name === body.name)) {
          throw new ProblemError(409, "conflict", `the team name '${body.name}' is already taken`, { field: "name" });
        }
        const team = this.addTeam(body.name, [[user, "owner"]]);
        team.display_name = body.display_name || body.name;
        return this.teamWithRole(team, user);
      }),
      this.route("get", "/teams/{team_id}", 200, ({ request, params }) => {
        const user = this.caller(request);
        return this.teamWithRole(this.teamFor(params.team_id, user, "read"), user);
      }),
      this.route("delete", "/teams/{team_id}", 204, ({ request, params }) => {
        const team = this.teamFor(params.team_id, this.caller(request), "delete");
        this.teams.delete(team.id);
      }),
      this.route("get", "/teams/{team_id}/members", 200, ({ request, params, url }) => {
        const team = this.teamFor(params.team_id, this.caller(request), "read");
        const all = [...team.members.keys()].map((userId) => this.member(team, userId));
        const { items, next_cursor } = this.page(url, all, (m) => [m.joined_at, m.user_id]);
        return { members: items, next_cursor };
      }),
      this.route("patch", "/teams/{team_id}/members/{user_id}", 200, ({ request, params, body }) => {
        const user = this.caller(request);
        const team = this.teamFor(params.team_id, user, "change_roles");
        const target = team.members.get(params.user_id);
        if (!target) throw new ProblemError(404, "not_found", "member not found");
        if (body.role === "owner" || target.role === "owner") this.requireOwnerRight(team, user);
        if (body.role !== "owner") this.refuseLastOwner(team, params.user_id);
        target.role = body.role;
        return this.member(team, params.user_id);
      }),
      this.route("delete", "/teams/{team_id}/members/{user_id}", 204, ({ request, params }) => {
        const user = this.caller(request);
        const leaving = params.user_id === user.id;
        const team = this.teamFor(params.team_id, user, leaving ? "leave" : "remove_members");
        const target = team.members.get(params.user_id);
        if (!target) throw new ProblemError(404, "not_found", "member not found");
        if (!leaving && target.role === "owner") this.requireOwnerRight(team, user);
        this.refuseLastOwner(team, params.user_id);
        team.members.delete(params.user_id);
      }),
      this.route("get", "/teams/{team_id}/invitations", 200, ({ request, params, url }) => {
        const team = this.teamFor(params.team_id, this.caller(request), "see_invitations");
        const pending = [...this.invitations.values()].filter((i) => i.team_id === team.id && i.status === "pending");
        const { items, next_cursor } = this.page(url, pending, (i) => [i.created_at, i.id]);
        return { invitations: items, next_cursor };
      }),
      this.route("post", "/teams/{team_id}/invitations", 201, ({ request, params, body }) => {
        const user = this.caller(request);
        const team = this.teamFor(params.team_id, user, "invite");
        const role = body.role ?? "member";
        if (role === "owner") this.requireOwnerRight(team, user);
        const invitee = [...this.users.values()].find((u) => u.username === body.login || u.email === body.login);
        if (!invitee && !body.login.includes("@")) throw new ProblemError(404, "not_found", `no account has the username '${body.login}'`, { field: "login" });
        if (invitee && team.members.has(invitee.id)) throw new ProblemError(409, "conflict", `${body.login} is already a member`, { field: "login" });
        if (invitee) return this.addInvitation(team, invitee, role, user);
        // An email without an account: the token is in this answer only.
        const invitation = { ...this.addInvitation(team, { id: "", username: "" } as User, role, user), invitee_id: null, invitee_username: null, email: body.login };
        this.invitations.set(invitation.id, invitation);
        const token = `pyk8s_inv_${newId()}`;
        this.invitationTokens.set(token, invitation.id);
        return { ...invitation, token };
      }),
      this.route("delete", "/teams/{team_id}/invitations/{invitation_id}", 204, ({ request, params }) => {
        this.teamFor(params.team_id, this.caller(request), "revoke_invitations");
        const invitation = this.invitations.get(params.invitation_id);
        if (!invitation || invitation.team_id !== params.team_id) throw new ProblemError(404, "not_found", "invitation not found");
        invitation.status = "revoked";
      }),
      this.route("get", "/invitations", 200, ({ request, url }) => {
        const user = this.caller(request);
        const pending = [...this.invitations.values()].filter((i) => i.invitee_id === user.id && i.status === "pending");
        const { items, next_cursor } = this.page(url, pending, (i) => [i.created_at, i.id]);
        return { invitations: items, next_cursor };
      }),
      this.route("post", "/invitations/{invitation_id}/accept", 200, ({ request, params }) => {
        const user = this.caller(request);
        const invitation = this.answerInvitation(params.invitation_id, user, "accepted");
        const team = this.teams.get(invitation.team_id)!;
        team.members.set(user.id, { role: invitation.role, joined_at: now() });
        return this.teamWithRole(team, user);
      }),
      this.route("post", "/invitations/{invitation_id}/decline", 204, ({ request, params }) => {
        this.answerInvitation(params.invitation_id, this.caller(request), "declined");
      }),

      // clusters
      this.route("get", "/providers", 200, ({ request }) => {
        this.caller(request);
        return { providers: this.providers };
      }),
      this.route("get", "/clusters", 200, ({ request, url }) => {
        const user = this.caller(request);
        const query = url.searchParams;
        const teamId = query.get("team_id");
        if (teamId) this.teamFor(teamId, user, "read");
        const status = query.get("status");
        const matches = (c: Cluster) =>
          this.seesCluster(c, user) &&
          (status ? c.status === status : c.status !== "deleted") &&
          (!teamId || c.team_id === teamId) &&
          (!query.get("provider") || c.provider === query.get("provider")) &&
          (!query.get("created_by") || c.owner_id === query.get("created_by"));
        const { items, next_cursor } = this.page(url, [...this.clusters.values()].filter(matches), (c) => [c.created_at, c.id]);
        return { clusters: items, next_cursor };
      }),
      this.route("post", "/clusters", 202, ({ request, body }) => {
        const user = this.caller(request);
        if (!DNS_LABEL.test(body.name) || body.name.length > 40) throw patternMismatch("name");
        if ([...this.clusters.values()].some((c) => c.name === body.name && c.status !== "deleted" && c.team_id === (body.team_id ?? null) && (body.team_id || c.owner_id === user.id))) {
          throw new ProblemError(409, "conflict", `a cluster named '${body.name}' already exists here`, { field: "name" });
        }
        const team = body.team_id ? this.teamFor(body.team_id, user, "create_clusters") : null;
        const offer = this.providers.find((p) => p.provider === body.provider)!;
        if (!offer.available) {
          throw new ProblemError(422, "validation_error", `${offer.provider} is not available here: ${offer.reason}`);
        }
        const versions = offer.versions ?? [];
        if (body.kubernetes_version && !versions.includes(body.kubernetes_version)) {
          const available = versions.join(", ");
          throw new ProblemError(422, "validation_error", `Kubernetes ${body.kubernetes_version} is not offered by ${offer.provider} here; available: ${available}`);
        }
        const cluster = this.addCluster(body.name, user, team);
        cluster.kubernetes_version = body.kubernetes_version ?? offer.default_version ?? null;
        cluster.created_at = now();
        cluster.provider = body.provider;
        cluster.workers = body.workers ?? 0;
        return cluster;
      }),
      this.route("get", "/clusters/{cluster_id}", 200, ({ request, params }) => {
        return this.clusterFor(params.cluster_id, this.caller(request), "read");
      }),
      this.route("delete", "/clusters/{cluster_id}", 202, ({ request, params }) => {
        const user = this.caller(request);
        const cluster = this.clusterFor(params.cluster_id, user, "delete");
        if (cluster.status !== "deleting" && cluster.status !== "deleted") {
          Object.assign(cluster, { status: "deleting", deleted_by: user.id, deleted_by_email: user.email, endpoint: null });
        }
        return cluster;
      }),
      this.route("get", "/clusters/{cluster_id}/kubeconfig", 200, ({ request, params }) => {
        const cluster = this.clusterFor(params.cluster_id, this.caller(request), "proxy");
        return { cluster_id: cluster.id, kubeconfig: execKubeconfig(cluster) };
      }),
      // Written with msw directly: the generated schema does not have this route yet.
      http.get(`${BASE}/clusters/:cluster_id/kubeconfig/admin`, ({ request, params }) => {
        const url = new URL(request.url);
        this.requests.push({ method: "GET", path: url.pathname, query: Object.fromEntries(url.searchParams), body: undefined });
        try {
          const cluster = this.clusterFor(String(params.cluster_id), this.caller(request), "admin_kubeconfig");
          this.adminKubeconfigReads.push(cluster.id);
          return HttpResponse.json({ cluster_id: cluster.id, kubeconfig: ADMIN_KUBECONFIG } satisfies Kubeconfig);
        } catch (error) {
          if (error instanceof ProblemError) return problem(error.status, error.code, error.message, url.pathname, error.extra);
          throw error;
        }
      }),
      this.route("post", "/clusters/{cluster_id}/extend", 200, ({ request, params, body }) => {
        const cluster = this.clusterFor(params.cluster_id, this.caller(request), "use");
        cluster.expires_at = new Date(Date.parse(cluster.expires_at) + body.hours * 3600 * 1000).toISOString();
        return cluster;
      }),
      this.route("post", "/clusters/{cluster_id}/terminal", 201, ({ request, params }) => {
        const cluster = this.clusterFor(params.cluster_id, this.caller(request), "use");
        if (cluster.status !== "ready") {
          throw new ProblemError(409, "conflict", `cluster is ${cluster.status}, not ready`);
        }
        const ticket = `ticket-${newId()}`;
        this.tickets.push(ticket);
        return { ticket, cluster_id: cluster.id, expires_at: new Date(Date.now() + 30000).toISOString(), ws_url: `/ws/terminal/${cluster.id}` };
      }),

      // the event stream
      this.route("post", "/events/tickets", 201, ({ request }) => {
        const user = this.caller(request);
        const ticket = `st-${newId()}`;
        this.streamTickets.set(ticket, user.id);
        return { ticket, expires_at: new Date(Date.now() + 30000).toISOString() };
      }),
      http.get(`${BASE}/events/clusters`, ({ request }) => {
        const url = new URL(request.url);
        this.streamUrls.push(url);
        const ticket = url.searchParams.get("ticket");
        const ticketUser = ticket === null ? undefined : this.streamTickets.get(ticket);
        if (ticket !== null && !this.streamTickets.delete(ticket)) {
          return problem(401, "invalid_token", "the ticket is invalid, used or expired", url.pathname);
        }
        let userId = ticketUser ?? "";
        if (ticket === null) {
          try {
            userId = this.caller(request).id;
          } catch (error) {
            const e = error as ProblemError;
            return problem(e.status, e.code, e.message, url.pathname);
          }
        }
        let mine: ReadableStreamDefaultController<Uint8Array>;
        const stream = new ReadableStream<Uint8Array>({
          start: (controller) => {
            mine = controller;
            this.streams.set(controller, userId);
            controller.enqueue(new TextEncoder().encode("retry: 3000\n: connected\n\n"));
          },
          cancel: () => {
            this.streams.delete(mine);
          },
        });
        request.signal.addEventListener("abort", () => this.streams.delete(mine));
        return new HttpResponse(stream, {
          headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" },
        });
      }),
      // hosts: platform admins only
      this.route("get", "/hosts", 200, ({ request }) => {
        this.platformAdmin(request);
        return { hosts: [...this.hosts.values()] };
      }),
      this.route("post", "/hosts/{host_id}/drain", 200, ({ request, params }) => this.setDrained(request, params.host_id, true)),
      this.route("post", "/hosts/{host_id}/undrain", 200, ({ request, params }) => this.setDrained(request, params.host_id, false)),
    ];
  }

  private platformAdmin(request: Request): Account {
    const caller = this.caller(request);
    if (!this.platformAdmins.has(caller.id)) throw new ProblemError(403, "forbidden", "this needs the platform admin role");
    return caller;
  }

  private setDrained(request: Request, id: string, drained: boolean): Host {
    this.platformAdmin(request);
    const host = this.hosts.get(id) ?? this.addHost(id, { reachable: false, announcement: null });
    host.drained = drained;
    return host;
  }
}
