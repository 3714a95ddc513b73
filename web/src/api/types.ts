// Names for the gateway's request and response bodies, all taken from the schema that
// `make schema` generates from the gateway's OpenAPI document.
import type { components } from "./schema";

type Schemas = components["schemas"];

export type User = Schemas["User"];
export type TokenPair = Schemas["TokenPair"];
export type SignupRequest = Schemas["SignupRequest"];
export type LoginBody = Schemas["LoginBody"];

export type Role = Schemas["Role"];
export type Team = Schemas["TeamWithRole"];
export type TeamList = Schemas["TeamList"];
export type TeamCreate = Schemas["TeamCreateBody"];
export type Member = Schemas["Member"];
export type MemberList = Schemas["MemberList"];
export type InvitationStatus = Schemas["InvitationStatus"];
export type Invitation = Schemas["Invitation"];
export type InvitationCreated = Schemas["InvitationCreated"];
export type InvitationList = Schemas["InvitationList"];
export type InvitationCreate = Schemas["InvitationBody"];

export type Provider = Schemas["Provider"];
export type ProviderInfo = Schemas["ProviderInfo"];
export type ProviderList = Schemas["ProviderList"];
export type ClusterStatus = Schemas["ClusterStatus"];
export type Cluster = Schemas["Cluster"];
export type ClusterList = Schemas["ClusterList"];
export type ClusterCreate = Schemas["ClusterCreateBody"];
export type Kubeconfig = Schemas["Kubeconfig"];
export type TerminalTicket = Schemas["TerminalTicket"];
export type StreamTicket = Schemas["StreamTicket"];

export type Host = Schemas["Host"];
export type HostList = Schemas["HostList"];
