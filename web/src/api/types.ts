// Names for the gateway's request and response bodies, taken from the generated schema.
import type { components } from "./schema";

type Schemas = components["schemas"];

export type User = Schemas["User"];
export type TokenPair = Schemas["TokenPair"];
export type SignupRequest = Schemas["SignupRequest"];
export type LoginBody = Schemas["LoginBody"];

// Teams, clusters and terminal bodies, as the API tables of the teams, provisioner and
// terminal work define them.
export type Role = "viewer" | "member" | "admin" | "owner";
export type Provider = "kind" | "k3d";
export type ClusterStatus = "pending" | "provisioning" | "ready" | "failed" | "deleting" | "deleted";

export interface Team {
  id: string;
  name: string;
  display_name: string;
  role: Role;
  created_at: string;
}

export interface TeamCreate {
  name: string;
  display_name?: string | null;
}

export interface Member {
  user_id: string;
  username: string | null;
  display_name: string | null;
  role: Role;
  joined_at: string;
}

export type InvitationStatus = "pending" | "accepted" | "declined" | "revoked" | "expired";

export interface Invitation {
  id: string;
  team_id: string;
  team_name: string;
  role: Role;
  invitee_id: string | null;
  invitee_username?: string | null;
  email: string | null;
  invited_by: string;
  status: InvitationStatus;
  created_at: string;
  expires_at: string;
}

export interface InvitationCreated extends Invitation {
  token?: string | null;
}

export interface TeamList {
  teams: Team[];
}

export interface MemberList {
  members: Member[];
}

export interface InvitationList {
  invitations: Invitation[];
}

export interface ClusterList {
  clusters: Cluster[];
}

export interface Kubeconfig {
  cluster_id: string;
  kubeconfig: string;
}

export interface InvitationCreate {
  login: string;
  role: Role;
}

export interface Cluster {
  id: string;
  name: string;
  team_id: string | null;
  owner_id: string;
  provider: Provider;
  kubernetes_version: string | null;
  workers: number;
  status: ClusterStatus;
  status_message: string | null;
  api_server: string | null;
  created_at: string;
  ready_at: string | null;
  expires_at: string;
}

export interface ClusterCreate {
  name: string;
  provider: Provider;
  team_id?: string | null;
  kubernetes_version?: string | null;
  workers?: number;
  ttl_hours?: number;
}

export interface TerminalTicket {
  ticket: string;
  ws_url: string;
  expires_in: number;
}
