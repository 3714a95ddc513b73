import { Center, Paper, Stack, Text } from "@mantine/core";
import type { ReactNode } from "react";

/** The sign-in pages: the product's name, then the form. */
export function CenteredCard({ children }: { children: ReactNode }) {
  return (
    <Center mih="100vh" p="md">
      <Stack w="100%" maw={420} gap="md">
        <Text component="p" fw={700} fz="xl" ta="center" data-testid="product-name">
          PyK8s-Lab
        </Text>
        <Paper withBorder shadow="sm" p="xl" radius="md">
          {children}
        </Paper>
      </Stack>
    </Center>
  );
}
