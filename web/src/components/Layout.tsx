import { AppShell, Box, Burger, Button, Group, Menu, NavLink, SegmentedControl, Text, useMantineColorScheme, type MantineColorScheme } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { Suspense } from "react";
import { Link, Outlet, useLocation } from "react-router";
import { useAppDispatch, useAppSelector } from "../hooks";
import { useLogoutMutation } from "../features/auth/authApi";
import { selectIsPlatformAdmin, selectSession, signedOut } from "../features/auth/authSlice";
import { useCurrentUser } from "../features/auth/useCurrentUser";
import { useClusterStream } from "../features/clusters/useClusterStream";
import { Loading } from "./QueryState";

const SCHEMES: { value: MantineColorScheme; label: string }[] = [
  { value: "light", label: "Light" },
  { value: "dark", label: "Dark" },
  { value: "auto", label: "System" },
];

const LINKS = [
  { to: "/", label: "Clusters" },
  { to: "/teams", label: "Teams" },
];
// Shown to platform admins only.
const ADMIN_LINKS = [{ to: "/hosts", label: "Hosts" }];

export function Layout() {
  const [opened, { toggle, close }] = useDisclosure();
  const location = useLocation();
  const me = useCurrentUser();
  const session = useAppSelector(selectSession);
  const links = useAppSelector(selectIsPlatformAdmin) ? [...LINKS, ...ADMIN_LINKS] : LINKS;
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
          <UserMenu username={me.data?.username} onSignOut={signOut} signingOut={isLoading} />
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs">
        {links.map((link) => (
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

interface UserMenuProps {
  username?: string;
  onSignOut: () => void;
  signingOut: boolean;
}

/** Who is signed in (shown at every width), the colour scheme, and log out. */
function UserMenu({ username, onSignOut, signingOut }: UserMenuProps) {
  const { colorScheme, setColorScheme } = useMantineColorScheme();
  return (
    <Menu position="bottom-end" width={240}>
      <Menu.Target>
        <Button
          variant="default"
          size="xs"
          maw={160}
          loading={signingOut}
          rightSection={<span aria-hidden="true">▾</span>}
          aria-label={username ? `Account: ${username}` : "Account"}
          data-testid="current-user"
        >
          <Text span size="sm" truncate="end">
            {username ?? "…"}
          </Text>
        </Button>
      </Menu.Target>
      <Menu.Dropdown>
        <Menu.Label>Appearance</Menu.Label>
        <Box px="xs" pb="xs">
          <SegmentedControl
            size="xs"
            fullWidth
            aria-label="Colour scheme"
            data={SCHEMES}
            value={colorScheme}
            onChange={(value) => setColorScheme(value as MantineColorScheme)}
          />
        </Box>
        <Menu.Divider />
        <Menu.Item onClick={onSignOut}>
          Log out
        </Menu.Item>
      </Menu.Dropdown>
    </Menu>
  );
}
