import { Button, Center } from "@mantine/core";

interface Props {
  /** An infinite query's result: whether a next page exists, and how to fetch it. */
  list: { hasNextPage: boolean; isFetchingNextPage: boolean; fetchNextPage: () => unknown };
}

/** The "Load more" button under a paged list; nothing once the last page is loaded. */
export function LoadMore({ list }: Props) {
  if (!list.hasNextPage) return null;
  return (
    <Center mt="sm">
      <Button variant="default" onClick={() => void list.fetchNextPage()} loading={list.isFetchingNextPage}>
        Load more
      </Button>
    </Center>
  );
}
