import { Button, Center } from "@mantine/core";

interface Props {
  /** An infinite query's result: whether a next page exists, and how to fetch it. */
  list: { hasNextPage: boolean; isFetchingNextPage: boolean; fetchNextPage: () => unknown };
  /** What the list holds, in the button's accessible name: a page can have several lists. */
  what: string;
}

/** The "Load more" button under a paged list; nothing once the last page is loaded. */
export function LoadMore({ list, what }: Props) {
  if (!list.hasNextPage) return null;
  return (
    <Center mt="sm">
      <Button variant="default" aria-label={`Load more ${what}`} onClick={() => void list.fetchNextPage()} loading={list.isFetchingNextPage}>
        Load more
      </Button>
    </Center>
  );
}
