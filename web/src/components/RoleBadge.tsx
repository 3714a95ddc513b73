import { Badge } from "@mantine/core";
import type { Role } from "../api/types";

const COLOR: Record<Role, string> = { owner: "grape", admin: "indigo", member: "blue", viewer: "gray" };

export function RoleBadge({ role }: { role: Role }) {
  return (
    <Badge color={COLOR[role]} variant="outline">
      {role}
    </Badge>
  );
}
