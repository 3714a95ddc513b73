import { Button, Stack, Text, Title } from "@mantine/core";
import { Link } from "react-router";

interface Props {
  title?: string;
  text?: string;
  back?: { to: string; label: string };
}

/** Nothing here, and the way back: for unknown addresses, and for a team or cluster that
 * does not exist (or that I may not see). */
export function NotFound({
  title = "Page not found",
  text = "There is nothing at this address.",
  back = { to: "/", label: "Back to clusters" },
}: Props) {
  return (
    <Stack align="flex-start">
      <Title order={2}>{title}</Title>
      <Text c="dimmed">{text}</Text>
      <Button component={Link} to={back.to}>
        {back.label}
      </Button>
    </Stack>
  );
}
