import passwordRules from "../../libs/contracts/pyk8s_contracts/password.json";

// Mirrors the gateway's DNS label rule (RFC 1123) so names are checked as they are typed.
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export function dnsLabelError(value: string, max = 63): string | null {
  if (!value) return "Required";
  if (value.length > max) return `At most ${max} characters`;
  if (/[A-Z]/.test(value)) return "Use lowercase letters only";
  if (/[^a-z0-9-]/.test(value)) return "Only lowercase letters, digits and '-'";
  if (!DNS_LABEL.test(value)) return "Must start and end with a letter or digit";
  return null;
}

// The password rules are the server's (libs/contracts/pyk8s_contracts/password.json).
const { min_length: PASSWORD_MIN, max_length: PASSWORD_MAX } = passwordRules;
export const PASSWORD_RULES = `${PASSWORD_MIN} to ${PASSWORD_MAX} characters`;

export function passwordError(value: string): string | null {
  if (value.length < PASSWORD_MIN) return `At least ${PASSWORD_MIN} characters`;
  if (value.length > PASSWORD_MAX) return `At most ${PASSWORD_MAX} characters`;
  return null;
}
