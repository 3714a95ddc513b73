import { Alert, Button, Center, Loader } from "@mantine/core";
import type { ReactNode } from "react";
import { problemMessage } from "../api/problem";

interface Props {
  isLoading: boolean;
  error: unknown;
  refetch?: () => void;
  children: ReactNode;
}

/** Loading spinner, readable error with a retry, or the content. */
export function QueryState({ isLoading, error, refetch, children }: Props) {
  if (isLoading) return <Loading />;
  if (error) {
    return (
      <Alert color="red" title="Could not load" role="alert">
        {problemMessage(error)}
        {refetch && (
          <Button size="xs" variant="light" color="red" ml="sm" onClick={refetch}>
            Retry
          </Button>
        )}
      </Alert>
    );
  }
  return <>{children}</>;
}

export function Loading() {
  return (
    <Center p="xl">
      <Loader aria-label="Loading" />
    </Center>
  );
}
