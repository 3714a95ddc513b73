import { Navigate, Outlet, useLocation } from "react-router";
import { useAppSelector } from "../../hooks";
import { selectSession } from "./authSlice";

export function RequireAuth() {
  const session = useAppSelector(selectSession);
  const location = useLocation();
  if (!session) return <Navigate to="/login" replace state={{ from: location.pathname }} />;
  return <Outlet />;
}
