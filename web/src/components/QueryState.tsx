import { Alert, Button, Center, Loader } from "@mantine/core";
import type { ReactNode } from "react";
import { problemMessage, problemStatus } from "../api/problem";

interface Props {
  isLoading: boolean;
  error: unknown;
  refetch?: () => void;
  /** Shown instead of the error when the thing does not exist (404): retrying cannot help. */
  notFound?: ReactNode;
  children: ReactNode;
}

/** Loading spinner, readable error with a retry, or the content. */
export function QueryState({ isLoading, error, refetch, notFound, children }: Props) {
  if (isLoading) return <Loading />;
  if (error && notFound && problemStatus(error) === 404) return <>{notFound}</>;
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
