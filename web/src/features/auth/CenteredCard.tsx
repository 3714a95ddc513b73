import { Center, Paper } from "@mantine/core";
import type { ReactNode } from "react";

export function CenteredCard({ children }: { children: ReactNode }) {
  return (
    <Center mih="100vh" p="md">
      <Paper withBorder shadow="sm" p="xl" radius="md" w="100%" maw={420}>
        {children}
      </Paper>
    </Center>
  );
}
