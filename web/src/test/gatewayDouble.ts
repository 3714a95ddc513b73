// A test double of the gateway's HTTP API (msw handlers over in-memory state). It answers
// with the real response shapes, the real problem+json errors and the real role rules
// (404 for non-members, 403 below the minimum role), so components are tested against
// what the gateway actually does.
import { http, HttpResponse, type JsonBodyType } from "msw";
import type { Cluster, ClusterStatus, Invitation, Role, User } from "../api/types";

const BASE = "http://localhost:3000/api/v1";
const RANK: Record<Role, number> = { viewer: 0, member: 1, admin: 2, owner: 3 };

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

class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
  ) {
    super(detail);
  }
}

function problem(status: number, code: string, detail: string, path: string) {
  return HttpResponse.json(
    { type: "about:blank", title: "Error", status, code, detail, instance: path },
    { status, headers: { "Content-Type": "application/problem+json" } },
  );
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
let counter = 0;
const newId = () => `00000000-0000-4000-8000-${String(++counter).padStart(12, "0")}`;
const now = () => new Date().toISOString();

export class GatewayDouble {
  users = new Map<string, Account>();
  teams = new Map<string, TeamRow>();
  invitations = new Map<string, Invitation>();
  clusters = new Map<string, Cluster>();
  private accessTokens = new Map<string, string>();
  private refreshTokens = new Map<string, string>();
  private streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  private streamTickets = new Map<string, string>();
  private sequence = 0;
  /** The URL of every request for the event stream, in order. */
  streamUrls: URL[] = [];
  private invitationTokens = new Map<string, string>();
  /** Terminal tickets handed out, in order. */
  tickets: string[] = [];
  /** Every request seen, as "METHOD /path", for assertions on what was sent. */
  requests: { method: string; path: string; body: unknown }[] = [];

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
      created_at: new Date(created).toISOString(),
      ready_at: status === "ready" ? new Date(created + 60000).toISOString() : null,
      expires_at: new Date(created + 4 * 3600 * 1000).toISOString(),
    };
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
    for (const controller of this.streams) controller.close();
    this.streams.clear();
  }

  /** Changes a cluster and publishes the lifecycle event on every open stream. */
  publishStatus(cluster: Cluster, status: ClusterStatus, message: string | null = null): void {
    const stored = this.clusters.get(cluster.id)!;
    stored.status = status;
    stored.status_message = message;
    const verb = status === "pending" ? "created" : status;
    const event = {
      specversion: "1.0",
      id: newId(),
      source: "pyk8s/provisioner",
      type: `io.pyk8s.cluster.${verb}`,
      time: now(),
      subject: cluster.id,
      datacontenttype: "application/json",
      data: {
        cluster_id: cluster.id,
        name: cluster.name,
        team_id: cluster.team_id,
        owner: cluster.owner_id,
        provider: cluster.provider,
        status,
        status_message: message,
        expires_at: cluster.expires_at,
      },
    };
    const frame = new TextEncoder().encode(`id: ${++this.sequence}\ndata: ${JSON.stringify(event)}\n\n`);
    for (const controller of this.streams) controller.enqueue(frame);
  }

  // ---- internals ----
  private issueTokens(userId: string) {
    const access = `at-${newId()}`;
    const refresh = `rt-${newId()}`;
    this.accessTokens.set(access, userId);
    this.refreshTokens.set(refresh, userId);
    return { access_token: access, refresh_token: refresh, token_type: "bearer", expires_in: 900 };
  }

  private caller(request: Request): Account {
    const header = request.headers.get("Authorization") ?? "";
    const token = header.startsWith("Bearer ") ? header.slice(7) : null;
    if (!token) throw new ProblemError(401, "unauthorized", "sign in first: no bearer token");
    const userId = this.accessTokens.get(token);
    if (!userId) throw new ProblemError(401, "invalid_token", "the token is invalid or expired");
    return this.users.get(userId)!;
  }

  private teamFor(teamId: string, user: User, minimum: Role): TeamRow {
    const team = this.teams.get(teamId);
    const membership = team?.members.get(user.id);
    if (!team || !membership) throw new ProblemError(404, "not_found", "team not found");
    if (RANK[membership.role] < RANK[minimum]) {
      throw new ProblemError(403, "forbidden", `this needs the ${minimum} role or above`);
    }
    return team;
  }

  private roleIn(teamId: string | null, user: User): Role | null {
    if (!teamId) return null;
    return this.teams.get(teamId)?.members.get(user.id)?.role ?? null;
  }

  private visibleCluster(clusterId: string, user: User): Cluster {
    const cluster = this.clusters.get(clusterId);
    if (!cluster || (cluster.owner_id !== user.id && !this.roleIn(cluster.team_id, user))) {
      throw new ProblemError(404, "not_found", "cluster not found");
    }
    return cluster;
  }

  private teamWithRole(team: TeamRow, user: User) {
    const { members, ...rest } = team;
    return { ...rest, role: members.get(user.id)!.role };
  }

  private route(
    method: "get" | "post" | "patch" | "delete",
    path: string,
    handle: (ctx: { request: Request; url: URL; params: Record<string, string>; body: unknown }) => unknown,
  ) {
    return http[method](`${BASE}${path}`, async ({ request, params }) => {
      const url = new URL(request.url);
      const text = method === "get" ? "" : await request.text();
      const body = text ? (JSON.parse(text) as unknown) : undefined;
      this.requests.push({ method: method.toUpperCase(), path: url.pathname, body });
      try {
        const result = await handle({ request, url, params: params as Record<string, string>, body });
        if (result instanceof Response) return result;
        if (result === undefined) return new HttpResponse(null, { status: 204 });
        return HttpResponse.json(result as JsonBodyType);
      } catch (error) {
        if (error instanceof ProblemError) return problem(error.status, error.code, error.message, url.pathname);
        throw error;
      }
    });
  }

  handlers() {
    return [
      // auth
      this.route("post", "/auth/signup", ({ body }) => {
        const b = body as { username: string; email: string; password: string; display_name?: string | null; invitation_token?: string | null };
        const invited = b.invitation_token ? this.invitations.get(this.invitationTokens.get(b.invitation_token) ?? "") : undefined;
        if (b.invitation_token && (!invited || invited.email !== b.email || invited.status !== "pending")) {
          throw new ProblemError(410, "invitation_invalid", "the invitation token is invalid, used or expired");
        }
        if (!DNS_LABEL.test(b.username) || b.username.length < 2) {
          throw new ProblemError(422, "validation_error", "request validation failed");
        }
        if ([...this.users.values()].some((u) => u.username === b.username || u.email === b.email)) {
          throw new ProblemError(409, "conflict", "username or email already taken");
        }
        const user = this.addUser(b.username, b.password);
        user.email = b.email;
        if (invited) {
          invited.status = "accepted";
          this.teams.get(invited.team_id)?.members.set(user.id, { role: invited.role, joined_at: now() });
        }
        const { password: _password, ...publicUser } = user;
        return HttpResponse.json(publicUser, { status: 201 });
      }),
      this.route("post", "/auth/login", ({ body }) => {
        const b = body as { login: string; password: string };
        const user = [...this.users.values()].find((u) => u.username === b.login || u.email === b.login);
        if (!user || user.password !== b.password) {
          throw new ProblemError(401, "invalid_credentials", "wrong login or password");
        }
        return HttpResponse.json(this.issueTokens(user.id));
      }),
      this.route("post", "/auth/refresh", ({ body }) => {
        const token = (body as { refresh_token: string }).refresh_token;
        const userId = this.refreshTokens.get(token);
        if (!userId) throw new ProblemError(401, "invalid_token", "the refresh token is invalid or expired");
        this.refreshTokens.delete(token);
        return HttpResponse.json(this.issueTokens(userId));
      }),
      this.route("post", "/auth/logout", ({ request }) => {
        this.caller(request);
      }),
      this.route("get", "/auth/me", ({ request }) => {
        const { password: _password, ...user } = this.caller(request);
        return user;
      }),

      // teams
      this.route("get", "/teams", ({ request }) => {
        const user = this.caller(request);
        const teams = [...this.teams.values()].filter((t) => t.members.has(user.id));
        return { teams: teams.map((t) => this.teamWithRole(t, user)) };
      }),
      this.route("post", "/teams", ({ request, body }) => {
        const user = this.caller(request);
        const b = body as { name: string; display_name?: string | null };
        if (!DNS_LABEL.test(b.name)) throw new ProblemError(422, "validation_error", "request validation failed");
        if ([...this.teams.values()].some((t) => t.name === b.name)) {
          throw new ProblemError(409, "conflict", `a team named ${b.name} already exists`);
        }
        const team = this.addTeam(b.name, [[user, "owner"]]);
        team.display_name = b.display_name || b.name;
        return HttpResponse.json(this.teamWithRole(team, user), { status: 201 });
      }),
      this.route("get", "/teams/:teamId", ({ request, params }) => {
        const user = this.caller(request);
        return this.teamWithRole(this.teamFor(params.teamId, user, "viewer"), user);
      }),
      this.route("delete", "/teams/:teamId", ({ request, params }) => {
        const team = this.teamFor(params.teamId, this.caller(request), "owner");
        this.teams.delete(team.id);
      }),
      this.route("get", "/teams/:teamId/members", ({ request, params }) => {
        const team = this.teamFor(params.teamId, this.caller(request), "viewer");
        return {
          members: [...team.members.entries()].map(([userId, m]) => {
            const u = this.users.get(userId)!;
            return { user_id: userId, username: u.username, display_name: u.display_name, role: m.role, joined_at: m.joined_at };
          }),
        };
      }),
      this.route("patch", "/teams/:teamId/members/:userId", ({ request, params, body }) => {
        const user = this.caller(request);
        const team = this.teamFor(params.teamId, user, "admin");
        const role = (body as { role: Role }).role;
        const target = team.members.get(params.userId);
        if (!target) throw new ProblemError(404, "not_found", "member not found");
        if ((role === "owner" || target.role === "owner") && team.members.get(user.id)!.role !== "owner") {
          throw new ProblemError(403, "forbidden", "only an owner may grant or take the owner role");
        }
        target.role = role;
        const u = this.users.get(params.userId)!;
        return { user_id: u.id, username: u.username, display_name: u.display_name, role, joined_at: target.joined_at };
      }),
      this.route("delete", "/teams/:teamId/members/:userId", ({ request, params }) => {
        const user = this.caller(request);
        const team = this.teamFor(params.teamId, user, params.userId === user.id ? "viewer" : "admin");
        team.members.delete(params.userId);
      }),
      this.route("get", "/teams/:teamId/invitations", ({ request, params }) => {
        const team = this.teamFor(params.teamId, this.caller(request), "admin");
        return { invitations: [...this.invitations.values()].filter((i) => i.team_id === team.id && i.status === "pending") };
      }),
      this.route("post", "/teams/:teamId/invitations", ({ request, params, body }) => {
        const user = this.caller(request);
        const team = this.teamFor(params.teamId, user, "admin");
        const b = body as { login: string; role: Role };
        const invitee = [...this.users.values()].find((u) => u.username === b.login || u.email === b.login);
        if (!invitee && !b.login.includes("@")) throw new ProblemError(404, "not_found", `no user ${b.login}`);
        if (invitee && team.members.has(invitee.id)) throw new ProblemError(409, "conflict", `${b.login} is already a member`);
        if (invitee) return HttpResponse.json(this.addInvitation(team, invitee, b.role, user), { status: 201 });
        // An email without an account: the token is in this answer only.
        const invitation = { ...this.addInvitation(team, { id: "", username: "" } as User, b.role, user), invitee_id: null, invitee_username: null, email: b.login };
        this.invitations.set(invitation.id, invitation);
        const token = `pyk8s_inv_${newId()}`;
        this.invitationTokens.set(token, invitation.id);
        return HttpResponse.json({ ...invitation, token }, { status: 201 });
      }),
      this.route("delete", "/teams/:teamId/invitations/:invitationId", ({ request, params }) => {
        this.teamFor(params.teamId, this.caller(request), "admin");
        const invitation = this.invitations.get(params.invitationId);
        if (!invitation || invitation.team_id !== params.teamId) throw new ProblemError(404, "not_found", "invitation not found");
        invitation.status = "revoked";
      }),
      this.route("get", "/invitations", ({ request }) => {
        const user = this.caller(request);
        return { invitations: [...this.invitations.values()].filter((i) => i.invitee_id === user.id && i.status === "pending") };
      }),
      this.route("post", "/invitations/:invitationId/:answer", ({ request, params }) => {
        const user = this.caller(request);
        const invitation = this.invitations.get(params.invitationId);
        if (!invitation || invitation.invitee_id !== user.id) throw new ProblemError(404, "not_found", "invitation not found");
        if (invitation.status !== "pending") throw new ProblemError(410, "invitation_invalid", "the invitation was already used");
        invitation.status = params.answer === "accept" ? "accepted" : "declined";
        if (params.answer !== "accept") return undefined;
        const team = this.teams.get(invitation.team_id)!;
        team.members.set(user.id, { role: invitation.role, joined_at: now() });
        return this.teamWithRole(team, user);
      }),

      // clusters
      this.route("get", "/clusters", ({ request }) => {
        const user = this.caller(request);
        const clusters = [...this.clusters.values()].filter(
          (c) => c.status !== "deleted" && (c.owner_id === user.id || this.roleIn(c.team_id, user)),
        );
        return { clusters };
      }),
      this.route("post", "/clusters", ({ request, body }) => {
        const user = this.caller(request);
        const b = body as { name: string; provider: "kind" | "k3d"; team_id?: string | null; workers?: number; ttl_hours?: number };
        if (!DNS_LABEL.test(b.name) || b.name.length > 40) throw new ProblemError(422, "validation_error", "request validation failed");
        const team = b.team_id ? this.teamFor(b.team_id, user, "member") : null;
        const cluster = this.addCluster(b.name, user, team);
        cluster.created_at = now();
        cluster.provider = b.provider;
        cluster.workers = b.workers ?? 0;
        return HttpResponse.json(cluster, { status: 202 });
      }),
      this.route("get", "/clusters/:clusterId", ({ request, params }) => {
        return this.visibleCluster(params.clusterId, this.caller(request));
      }),
      this.route("delete", "/clusters/:clusterId", ({ request, params }) => {
        const user = this.caller(request);
        const cluster = this.visibleCluster(params.clusterId, user);
        if (cluster.owner_id !== user.id && RANK[this.roleIn(cluster.team_id, user) ?? "viewer"] < RANK.admin) {
          throw new ProblemError(403, "forbidden", "only the creator or a team admin may delete this cluster");
        }
        cluster.status = "deleting";
        return HttpResponse.json(cluster, { status: 202 });
      }),
      this.route("get", "/clusters/:clusterId/kubeconfig", ({ request, params }) => {
        const user = this.caller(request);
        const cluster = this.visibleCluster(params.clusterId, user);
        if (cluster.owner_id !== user.id && RANK[this.roleIn(cluster.team_id, user) ?? "viewer"] < RANK.member) {
          throw new ProblemError(403, "forbidden", "viewers may not download the kubeconfig");
        }
        return { cluster_id: cluster.id, kubeconfig: `apiVersion: v1\nkind: Config\nclusters: []\n` };
      }),

      this.route("post", "/clusters/:clusterId/terminal", ({ request, params }) => {
        const user = this.caller(request);
        const cluster = this.visibleCluster(params.clusterId, user);
        if (cluster.owner_id !== user.id && RANK[this.roleIn(cluster.team_id, user) ?? "viewer"] < RANK.member) {
          throw new ProblemError(403, "forbidden", "a terminal needs the member role or higher in the team");
        }
        if (cluster.status !== "ready") {
          throw new ProblemError(409, "conflict", `cluster is ${cluster.status}, not ready`);
        }
        const ticket = `ticket-${newId()}`;
        this.tickets.push(ticket);
        return HttpResponse.json(
          { ticket, cluster_id: cluster.id, expires_at: new Date(Date.now() + 30000).toISOString(), ws_url: `/ws/terminal/${cluster.id}` },
          { status: 201 },
        );
      }),

      // the event stream
      this.route("post", "/events/tickets", ({ request }) => {
        const user = this.caller(request);
        const ticket = `st-${newId()}`;
        this.streamTickets.set(ticket, user.id);
        return HttpResponse.json(
          { ticket, expires_at: new Date(Date.now() + 30000).toISOString() },
          { status: 201 },
        );
      }),
      http.get(`${BASE}/events/clusters`, ({ request }) => {
        const url = new URL(request.url);
        this.streamUrls.push(url);
        const ticket = url.searchParams.get("ticket");
        if (ticket !== null && !this.streamTickets.delete(ticket)) {
          return problem(401, "invalid_token", "the ticket is invalid, used or expired", url.pathname);
        }
        if (ticket === null) {
          try {
            this.caller(request);
          } catch (error) {
            const e = error as ProblemError;
            return problem(e.status, e.code, e.message, url.pathname);
          }
        }
        let mine: ReadableStreamDefaultController<Uint8Array>;
        const stream = new ReadableStream<Uint8Array>({
          start: (controller) => {
            mine = controller;
            this.streams.add(controller);
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
    ];
  }
}
