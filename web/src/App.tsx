import { lazy, Suspense, type ComponentType } from "react";
import { Route, Routes } from "react-router";
import { Layout } from "./components/Layout";
import { Loading } from "./components/QueryState";
import { RequireAuth } from "./features/auth/RequireAuth";
import { NotFound } from "./components/NotFound";

/** A page loaded the first time it is shown: each page is its own chunk, so the first load
 * carries only the shell (docs/performance.md, "Web assets"). */
function page<Name extends string>(load: () => Promise<Record<Name, ComponentType>>, name: Name) {
  return lazy(() => load().then((module) => ({ default: module[name] })));
}

const LoginPage = page(() => import("./features/auth/LoginPage"), "LoginPage");
const SignupPage = page(() => import("./features/auth/SignupPage"), "SignupPage");
const DashboardPage = page(() => import("./features/clusters/DashboardPage"), "DashboardPage");
const TeamsPage = page(() => import("./features/teams/TeamsPage"), "TeamsPage");
const TeamPage = page(() => import("./features/teams/TeamPage"), "TeamPage");
const ClusterPage = page(() => import("./features/clusters/ClusterPage"), "ClusterPage");
const HostsPage = page(() => import("./features/hosts/HostsPage"), "HostsPage");

export function AppRoutes() {
  return (
    <Suspense fallback={<Loading />}>
      <Routes>
        <Route path="/login" element={<LoginPage />} />
        <Route path="/signup" element={<SignupPage />} />
        <Route element={<RequireAuth />}>
          <Route element={<Layout />}>
            <Route index element={<DashboardPage />} />
            <Route path="teams" element={<TeamsPage />} />
            <Route path="teams/:teamId" element={<TeamPage />} />
            <Route path="clusters/:clusterId" element={<ClusterPage />} />
            <Route path="hosts" element={<HostsPage />} />
            <Route path="*" element={<NotFound />} />
          </Route>
        </Route>
      </Routes>
    </Suspense>
  );
}
