// The double refuses what the real gateway refuses. The expected statuses are written out as
// the gateway's own tests expect them (gateway/tests/test_rbac_matrix.py,
// test_clusters_rbac.py, services/provisioner/tests/test_access.py), not computed from the
// table the double applies, so a double that drifts from the rules fails here.
import { describe, expect, it } from "vitest";
import type { Role, User } from "../api/types";
import type { GatewayDouble } from "./gatewayDouble";
import { installGateway } from "./render";

const BASE = "http://localhost:3000/api/v1";

async function status(gateway: GatewayDouble, user: User, method: string, path: string, body?: unknown) {
  const answer = await fetch(`${BASE}${path}`, {
    method,
    headers: { Authorization: `Bearer ${gateway.sessionFor(user).accessToken}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return answer.status;
}

/** A team where `me` has `role` (or is not a member), with a ready cluster made by `creator`. */
function teamCluster(role: Role | null, meIsCreator: boolean) {
  const gateway = installGateway();
  const owner = gateway.addUser("olga");
  const me = gateway.addUser("mia");
  const creator = meIsCreator ? me : gateway.addUser("carl");
  const members: [User, Role][] = [[owner, "owner"]];
  if (role) members.push([me, role]);
  if (!meIsCreator) members.push([creator, "member"]);
  const team = gateway.addTeam("platform", members);
  const cluster = gateway.addCluster("dev", creator, team, "ready");
  return { gateway, me, team, cluster };
}

const CLUSTER_CALLS: [string, string, string, unknown?][] = [
  ["read", "GET", ""],
  ["kubeconfig", "GET", "/kubeconfig"],
  ["admin", "GET", "/kubeconfig/admin"],
  ["extend", "POST", "/extend", { hours: 1 }],
  ["terminal", "POST", "/terminal"],
  ["delete", "DELETE", ""],
];

// caller's role (null: not in the team), is the caller the creator -> status per call
const CLUSTER_CASES: [Role | null, boolean, Record<string, number>][] = [
  ["owner", false, { read: 200, kubeconfig: 200, admin: 200, extend: 200, terminal: 201, delete: 202 }],
  ["admin", false, { read: 200, kubeconfig: 200, admin: 200, extend: 200, terminal: 201, delete: 202 }],
  ["member", false, { read: 200, kubeconfig: 200, admin: 403, extend: 200, terminal: 201, delete: 403 }],
  ["member", true, { read: 200, kubeconfig: 200, admin: 403, extend: 200, terminal: 201, delete: 202 }],
  ["viewer", false, { read: 200, kubeconfig: 200, admin: 403, extend: 403, terminal: 403, delete: 403 }],
  // A creator lowered to viewer keeps no more than a viewer.
  ["viewer", true, { read: 200, kubeconfig: 200, admin: 403, extend: 403, terminal: 403, delete: 403 }],
  [null, false, { read: 404, kubeconfig: 404, admin: 404, extend: 404, terminal: 404, delete: 404 }],
  // A creator removed from the team sees nothing of the team's cluster.
  [null, true, { read: 404, kubeconfig: 404, admin: 404, extend: 404, terminal: 404, delete: 404 }],
];

describe("the double's cluster rules", () => {
  it.each(CLUSTER_CASES)("%s (creator: %s)", async (role, isCreator, expected) => {
    const actual: Record<string, number> = {};
    for (const [name, method, suffix, body] of CLUSTER_CALLS) {
      const { gateway, me, cluster } = teamCluster(role, isCreator);
      actual[name] = await status(gateway, me, method, `/clusters/${cluster.id}${suffix}`, body);
    }
    expect(actual).toEqual(expected);
  });

  it("lists a team cluster only to the team's members, whoever made it", async () => {
    const { gateway, me, cluster } = teamCluster(null, true);
    const answer = await fetch(`${BASE}/clusters`, {
      headers: { Authorization: `Bearer ${gateway.sessionFor(me).accessToken}` },
    });
    const { clusters } = (await answer.json()) as { clusters: { id: string }[] };
    expect(clusters.map((c) => c.id)).not.toContain(cluster.id);
  });

  it("keeps a personal cluster to its creator", async () => {
    const gateway = installGateway();
    const me = gateway.addUser("mia");
    const other = gateway.addUser("olga");
    const cluster = gateway.addCluster("solo", me, null, "ready");
    expect(await status(gateway, other, "GET", `/clusters/${cluster.id}/kubeconfig`)).toBe(404);
    expect(await status(gateway, other, "GET", `/clusters/${cluster.id}/kubeconfig/admin`)).toBe(404);
    expect(await status(gateway, me, "GET", `/clusters/${cluster.id}/kubeconfig`)).toBe(200);
    expect(await status(gateway, me, "GET", `/clusters/${cluster.id}/kubeconfig/admin`)).toBe(200);
    expect(await status(gateway, me, "DELETE", `/clusters/${cluster.id}`)).toBe(202);
  });
});

// The rows of the matrix in docs/rbac.md that the web app uses, for each role in the team.
const TEAM_CASES: [string, (ids: { team: string; victim: string }) => [string, string, unknown?], Record<Role | "outsider", number>][] = [
  ["read the team", ({ team }) => ["GET", `/teams/${team}`], { outsider: 404, viewer: 200, member: 200, admin: 200, owner: 200 }],
  ["list members", ({ team }) => ["GET", `/teams/${team}/members`], { outsider: 404, viewer: 200, member: 200, admin: 200, owner: 200 }],
  [
    "create a team cluster",
    ({ team }) => ["POST", "/clusters", { name: "new", provider: "kind", team_id: team }],
    { outsider: 404, viewer: 403, member: 202, admin: 202, owner: 202 },
  ],
  [
    "invite",
    ({ team }) => ["POST", `/teams/${team}/invitations`, { login: "new@example.com", role: "member" }],
    { outsider: 404, viewer: 403, member: 403, admin: 201, owner: 201 },
  ],
  [
    "invite an owner",
    ({ team }) => ["POST", `/teams/${team}/invitations`, { login: "new@example.com", role: "owner" }],
    { outsider: 404, viewer: 403, member: 403, admin: 403, owner: 201 },
  ],
  ["see invitations", ({ team }) => ["GET", `/teams/${team}/invitations`], { outsider: 404, viewer: 403, member: 403, admin: 200, owner: 200 }],
  [
    "change a role",
    ({ team, victim }) => ["PATCH", `/teams/${team}/members/${victim}`, { role: "member" }],
    { outsider: 404, viewer: 403, member: 403, admin: 200, owner: 200 },
  ],
  [
    "make someone owner",
    ({ team, victim }) => ["PATCH", `/teams/${team}/members/${victim}`, { role: "owner" }],
    { outsider: 404, viewer: 403, member: 403, admin: 403, owner: 200 },
  ],
  [
    "remove someone",
    ({ team, victim }) => ["DELETE", `/teams/${team}/members/${victim}`],
    { outsider: 404, viewer: 403, member: 403, admin: 204, owner: 204 },
  ],
  ["delete the team", ({ team }) => ["DELETE", `/teams/${team}`], { outsider: 404, viewer: 403, member: 403, admin: 403, owner: 204 }],
];

describe("the double's team rules", () => {
  it.each(TEAM_CASES)("%s", async (_name, request, expected) => {
    const actual: Record<string, number> = {};
    for (const caller of Object.keys(expected) as (Role | "outsider")[]) {
      const gateway = installGateway();
      const owner = gateway.addUser("olga");
      const me = gateway.addUser("mia");
      const victim = gateway.addUser("vic");
      const members: [User, Role][] = [[owner, "owner"], [victim, "viewer"]];
      if (caller !== "outsider") members.push([me, caller]);
      const team = gateway.addTeam("platform", members);
      const [method, path, body] = request({ team: team.id, victim: victim.id });
      actual[caller] = await status(gateway, me, method, path, body);
    }
    expect(actual).toEqual(expected);
  });

  it("lets any member leave, but not the last owner", async () => {
    const gateway = installGateway();
    const me = gateway.addUser("mia");
    const viewer = gateway.addUser("vic");
    const team = gateway.addTeam("platform", [[me, "owner"], [viewer, "viewer"]]);
    expect(await status(gateway, viewer, "DELETE", `/teams/${team.id}/members/${viewer.id}`)).toBe(204);
    expect(await status(gateway, me, "DELETE", `/teams/${team.id}/members/${me.id}`)).toBe(409);
  });
});

describe("the double's paging", () => {
  it("takes a limit from 1 to the gateway's largest page, and names the next page", async () => {
    const gateway = installGateway();
    const me = gateway.addUser("mia");
    for (const name of ["a", "b", "c"]) gateway.addTeam(name, [[me, "owner"]]);
    const headers = { Authorization: `Bearer ${gateway.sessionFor(me).accessToken}` };
    const page = async (query: string) => fetch(`${BASE}/teams?${query}`, { headers });

    expect((await page("limit=0")).status).toBe(422);
    expect((await page("limit=201")).status).toBe(422);
    const first = await (await page("limit=2")).json();
    expect(first.teams.map((t: { name: string }) => t.name)).toEqual(["c", "b"]);
    const last = await (await page(`limit=2&cursor=${first.next_cursor}`)).json();
    expect(last).toMatchObject({ teams: [{ name: "a" }], next_cursor: null });
  });
});
