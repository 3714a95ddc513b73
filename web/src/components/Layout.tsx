import { AppShell, Burger, Button, Group, NavLink, Text } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { Suspense } from "react";
import { Link, Outlet, useLocation } from "react-router";
import { useAppDispatch, useAppSelector } from "../hooks";
import { useLogoutMutation } from "../features/auth/authApi";
import { selectSession, signedOut } from "../features/auth/authSlice";
import { useCurrentUser } from "../features/auth/useCurrentUser";
import { useClusterStream } from "../features/clusters/useClusterStream";
import { Loading } from "./QueryState";

const LINKS = [
  { to: "/", label: "Clusters" },
  { to: "/teams", label: "Teams" },
];

export function Layout() {
  const [opened, { toggle, close }] = useDisclosure();
  const location = useLocation();
  const me = useCurrentUser();
  const session = useAppSelector(selectSession);
  const dispatch = useAppDispatch();
  const [logout, { isLoading }] = useLogoutMutation();
  useClusterStream();

  const signOut = async () => {
    if (session) await logout({ refresh_token: session.refreshToken });
    dispatch(signedOut());
  };

  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 200, breakpoint: "sm", collapsed: { mobile: !opened } }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Menu" />
            <Text fw={700} component={Link} to="/" c="inherit" td="none">
              PyK8s-Lab
            </Text>
          </Group>
          <Group gap="sm" wrap="nowrap">
            <Text size="sm" c="dimmed" visibleFrom="xs" data-testid="current-user">
              {me.data?.username}
            </Text>
            <Button size="xs" variant="default" onClick={signOut} loading={isLoading}>
              Log out
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs">
        {LINKS.map((link) => (
          <NavLink
            key={link.to}
            component={Link}
            to={link.to}
            label={link.label}
            onClick={close}
            active={link.to === "/" ? location.pathname === "/" || location.pathname.startsWith("/clusters") : location.pathname.startsWith(link.to)}
          />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>
        {/* The shell stays while a page's chunk loads. */}
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </AppShell.Main>
    </AppShell>
  );
}
